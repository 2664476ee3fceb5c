"""Ethereum's official state tests run through booster's two execution paths.

(a) the L2 executor, as the node builds blocks; (b) the L1 context, the test's pre-state being
the L1 state at the anchor. Each is compared with plain py-evm on the same case (engine.py);
``python -m tests.conformance.run`` prints the per-category table.
"""
