"""The L2 VM's hand-written pieces against py-evm's and rlp's own."""

from __future__ import annotations

import rlp
from eth.rlp.accounts import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli.l2vm import encode_account

EDGES = st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**55, 2**56, 2**64 - 1])


@settings(max_examples=500, deadline=None)
@given(nonce=st.one_of(EDGES, st.integers(0, 2**64 - 1)), balance=st.one_of(EDGES, st.integers(0, 2**256 - 1)),
       storage_root=st.binary(min_size=32, max_size=32), code_hash=st.binary(min_size=32, max_size=32))
def test_encode_account_is_rlp(nonce, balance, storage_root, code_hash):
    account = Account(nonce, balance, storage_root, code_hash)
    assert encode_account(account) == rlp.encode(account, sedes=Account)
