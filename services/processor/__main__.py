from .app import main

if __name__ == "__main__":  # the reader process (spawned) imports this module as __mp_main__
    raise SystemExit(main())
