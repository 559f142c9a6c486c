import sys

from attendance.cli import main

sys.exit(main())
