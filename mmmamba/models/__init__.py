# Copyright (c) mmmamba contributors. All rights reserved.
"""Importing this package registers every mmmamba model in the ``mmmamba`` scope."""
from . import backbones, layers, necks, utils  # noqa: F401,E402
