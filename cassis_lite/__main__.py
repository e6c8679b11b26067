from cassis_lite.cli import main

raise SystemExit(main())
