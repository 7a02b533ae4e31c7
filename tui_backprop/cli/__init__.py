"""The command line: the app by default, plus the headless ``check``, ``trace``, ``train`` and ``list``."""
