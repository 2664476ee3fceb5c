// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import "@openzeppelin/contracts/governance/Governor.sol";
import "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import "../../templates/BoosterTarget.sol";

// OpenZeppelin 5.7.0 from npm, opted into booster's coprocessor mode: nothing here but the
// wiring OpenZeppelin asks for and BoosterTarget's applyStateUpdates (tests only). The votes token
// of the Governor flow is OZVotesToken.sol.

/// The asset: OpenZeppelin's ERC20, its supply minted to the holders.
contract OZAsset is ERC20, BoosterTarget {
    constructor(address settlement, address[] memory holders, uint256 amount) ERC20("Booster Asset", "BAS") BoosterTarget(settlement) {
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amount);
        }
    }
}

/// OpenZeppelin's ERC4626 tokenized vault over an ERC20 asset.
contract OZVault is ERC4626, BoosterTarget {
    constructor(address settlement, IERC20 asset_) ERC20("Booster Vault", "bvBAS") ERC4626(asset_) BoosterTarget(settlement) {}
}

/// OpenZeppelin's Governor with settings, simple counting, ERC20Votes weights and a quorum
/// fraction (its clock is the token's: block numbers). It executes proposals itself (no timelock).
contract OZGovernor is Governor, GovernorSettings, GovernorCountingSimple, GovernorVotes, GovernorVotesQuorumFraction, BoosterTarget {
    constructor(address settlement, IVotes token, uint48 delay, uint32 period)
        Governor("Booster Governor")
        GovernorSettings(delay, period, 0)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(4)
        BoosterTarget(settlement)
    {}

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }
}
