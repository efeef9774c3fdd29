"""Can this machine reach the Hugging Face Hub? The one network probe that models/, data/ and evaluation/ ask
before a download (a neutral module, so that the data layer need not import the model layer for it)."""
from __future__ import annotations

import socket
from urllib.parse import urlparse


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hub endpoint accepts a TCP connection within ``timeout`` seconds (False at once with
    ``HF_HUB_OFFLINE=1``)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False
