"""``python -m utilmeta`` runs the ``meta`` command."""

from utilmeta.bin.meta import main

raise SystemExit(main())
