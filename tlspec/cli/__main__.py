import sys

from tlspec.cli.main import main

sys.exit(main())
