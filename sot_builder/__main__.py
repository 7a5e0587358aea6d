from sot_builder.cli import main

raise SystemExit(main())
