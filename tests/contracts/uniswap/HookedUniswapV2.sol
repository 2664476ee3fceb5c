pragma solidity =0.5.16;

// Uniswap V2 core 1.0.1, from npm @uniswap/v2-core, untouched: these contracts only add
// booster's applyStateUpdates hook (BoosterHook05's fallback) to them.
import '@uniswap/v2-core/contracts/UniswapV2Pair.sol';
import '@uniswap/v2-core/contracts/UniswapV2Factory.sol';
import '@uniswap/v2-core/contracts/test/ERC20.sol';
import './BoosterHook05.sol';

interface IBoosterSettlementSource {
    function boosterSettlement() external view returns (address);
}

/// UniswapV2Pair plus the hook. A pair is created by its factory with no constructor arguments,
/// so it asks the factory (msg.sender, as UniswapV2Pair's own constructor assumes) for the
/// settlement address.
contract HookedUniswapV2Pair is UniswapV2Pair, BoosterHook05 {
    constructor() public BoosterHook05(IBoosterSettlementSource(msg.sender).boosterSettlement()) {}
}

/// UniswapV2Factory plus the hook, creating hooked pairs.
///
/// The only diff to Uniswap: UniswapV2Factory.createPair deploys `type(UniswapV2Pair).creationCode`,
/// which has no hook, and cannot be told otherwise; so createPair is repeated here verbatim except
/// for that one expression, `type(HookedUniswapV2Pair).creationCode`. (The pair's CREATE2 address
/// therefore follows the hooked pair's init code hash, not Uniswap's published one.)
contract HookedUniswapV2Factory is UniswapV2Factory, BoosterHook05 {
    constructor(address _feeToSetter, address settlement) public UniswapV2Factory(_feeToSetter) BoosterHook05(settlement) {}

    /// For the pairs this factory creates (their constructor asks).
    function boosterSettlement() external view returns (address) {
        return _boosterSettlement();
    }

    function createPair(address tokenA, address tokenB) external returns (address pair) {
        require(tokenA != tokenB, 'UniswapV2: IDENTICAL_ADDRESSES');
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(token0 != address(0), 'UniswapV2: ZERO_ADDRESS');
        require(getPair[token0][token1] == address(0), 'UniswapV2: PAIR_EXISTS'); // single check is sufficient
        bytes memory bytecode = type(HookedUniswapV2Pair).creationCode; // the one change
        bytes32 salt = keccak256(abi.encodePacked(token0, token1));
        assembly {
            pair := create2(0, add(bytecode, 32), mload(bytecode), salt)
        }
        IUniswapV2Pair(pair).initialize(token0, token1);
        getPair[token0][token1] = pair;
        getPair[token1][token0] = pair; // populate mapping in the reverse direction
        allPairs.push(pair);
        emit PairCreated(token0, token1, pair, allPairs.length);
    }
}

/// Uniswap's own test token (UniswapV2ERC20 minting the supply to its deployer) plus the hook.
contract HookedERC20 is ERC20, BoosterHook05 {
    constructor(uint _totalSupply, address settlement) public ERC20(_totalSupply) BoosterHook05(settlement) {}
}
