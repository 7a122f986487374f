"""python -m dlws_client: the dlws-child command line, where no script was installed."""
from dlws_client.cli import main

raise SystemExit(main())
