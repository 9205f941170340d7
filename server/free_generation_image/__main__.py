from free_generation_image.cli import main

raise SystemExit(main())
