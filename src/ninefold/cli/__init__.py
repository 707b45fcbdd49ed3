"""The ``ninefold`` command line: thin commands over the library, ``--json`` everywhere."""
