"""The ``meta`` command line: ``meta setup``, ``run``, ``check``, ``routes``, ``deploy``, ..."""
