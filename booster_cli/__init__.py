"""booster: a local devnet for booster rollups used as a ZK coprocessor."""

__version__ = "0.1.0"

import os as _os
from importlib.util import find_spec as _find_spec

# Keccak through pysha3 (safe-pysha3, a dependency): ~0.8 µs a hash, against ~3.5 µs through
# pycryptodome's ctypes layer, which eth-hash would pick first. Hashing is a good share of
# executing L1 contracts (every mapping slot) and of sealing blocks. ETH_HASH_BACKEND, if set,
# still decides.
if "ETH_HASH_BACKEND" not in _os.environ and _find_spec("_pysha3") is not None:  # pysha3's own module
    _os.environ["ETH_HASH_BACKEND"] = "pysha3"
