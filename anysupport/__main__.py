import sys

from anysupport.cli import main

sys.exit(main())
