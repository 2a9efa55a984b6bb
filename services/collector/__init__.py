"""The collector: turns files dropped into ``inbox/`` into raw files and ``files.collected`` events.

Later sources (API clients on schedules) will live beside the inbox watcher, e.g. in ``sources/``.
"""
