"""booster: a local devnet for booster rollups used as a ZK coprocessor."""

__version__ = "0.1.0"
