from .app import main  # noqa: D100

raise SystemExit(main())
