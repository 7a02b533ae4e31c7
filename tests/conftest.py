"""Makes the helpers shared by every test folder (``sessionkit``) importable: pytest puts this folder on
``sys.path`` when it loads this file."""
