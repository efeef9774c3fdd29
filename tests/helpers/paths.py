"""Where the repository's pieces are, for tests at any depth."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
TRAIN = REPO / "train.py"
ASSETS = REPO / "tests" / "assets"
