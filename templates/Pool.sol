// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "./BoosterTarget.sol";

/// The part of ERC20 the pool uses (tokens that return bool, like Token.sol).
interface IERC20Minimal {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// A small constant-product (x * y = k) pool of two tokens on L1 whose swaps can run on the L2
/// through L1CALL. Reserves and liquidity shares are ordinary storage, so a swap becomes storage
/// writes to the pool and to both tokens in the booster state delta.
///
/// A swap of `amountIn` pays a 0.3% fee that stays in the pool:
///     amountOut = amountIn * 997 * reserveOut / (reserveIn * 1000 + amountIn * 997)
/// so reserveIn * reserveOut never decreases. Tokens move with transferFrom (the caller approves
/// the pool first) and transfer; the reserves are the pool's own accounting, not its balances.
contract Pool is BoosterTarget {
    address public immutable tokenA;
    address public immutable tokenB;

    // packed into one slot, as Uniswap V2 does: a swap rewrites one storage word, not two
    uint112 public reserveA;
    uint112 public reserveB;
    uint32 public lastUpdate;
    uint256 public totalShares;
    mapping(address => uint256) public sharesOf;

    event LiquidityAdded(address indexed provider, uint256 amountA, uint256 amountB, uint256 shares);
    event LiquidityRemoved(address indexed provider, uint256 amountA, uint256 amountB, uint256 shares);
    event Swap(address indexed trader, address indexed tokenIn, uint256 amountIn, address indexed tokenOut, uint256 amountOut);

    error InvalidTokens(address tokenA, address tokenB);
    error UnknownToken(address token);
    error ZeroAmount();
    error NoLiquidity();
    error InsufficientShares(uint256 shares, uint256 needed);
    error InsufficientOutput(uint256 amountOut, uint256 minOut);
    error TransferFailed(address token);
    error ReserveOverflow();

    constructor(address settlement, address tokenA_, address tokenB_) BoosterTarget(settlement) {
        if (tokenA_ == tokenB_ || tokenA_ == address(0) || tokenB_ == address(0)) {
            revert InvalidTokens(tokenA_, tokenB_);
        }
        tokenA = tokenA_;
        tokenB = tokenB_;
    }

    /// Deposit both tokens. The first deposit sets the price and mints sqrt(amountA * amountB)
    /// shares; later ones mint in proportion to the reserves, the smaller of the two ratios
    /// (deposit at the current price: any excess stays in the pool).
    function addLiquidity(uint256 amountA, uint256 amountB) external returns (uint256 shares) {
        if (amountA == 0 || amountB == 0) revert ZeroAmount();
        uint256 total = totalShares;
        if (total == 0) {
            shares = _sqrt(amountA * amountB);
        } else {
            uint256 byA = (amountA * total) / reserveA;
            uint256 byB = (amountB * total) / reserveB;
            shares = byA < byB ? byA : byB;
        }
        if (shares == 0) revert ZeroAmount();
        _setReserves(uint256(reserveA) + amountA, uint256(reserveB) + amountB);
        totalShares = total + shares;
        sharesOf[msg.sender] += shares;
        _pull(tokenA, amountA);
        _pull(tokenB, amountB);
        emit LiquidityAdded(msg.sender, amountA, amountB, shares);
    }

    /// Burn `shares` for the same fraction of both reserves.
    function removeLiquidity(uint256 shares) external returns (uint256 amountA, uint256 amountB) {
        uint256 owned = sharesOf[msg.sender];
        if (shares == 0) revert ZeroAmount();
        if (owned < shares) revert InsufficientShares(owned, shares);
        uint256 total = totalShares;
        amountA = (reserveA * shares) / total;
        amountB = (reserveB * shares) / total;
        sharesOf[msg.sender] = owned - shares;
        totalShares = total - shares;
        _setReserves(reserveA - amountA, reserveB - amountB);
        _send(tokenA, amountA);
        _send(tokenB, amountB);
        emit LiquidityRemoved(msg.sender, amountA, amountB, shares);
    }

    /// Sell `amountIn` of `tokenIn` (tokenA or tokenB) for the other token; reverts unless at
    /// least `minOut` comes back.
    function swap(address tokenIn, uint256 amountIn, uint256 minOut) external returns (uint256 amountOut) {
        bool aToB = _isTokenA(tokenIn);
        amountOut = getAmountOut(tokenIn, amountIn);
        if (amountOut == 0 || amountOut < minOut) revert InsufficientOutput(amountOut, minOut);
        address tokenOut;
        if (aToB) {
            _setReserves(uint256(reserveA) + amountIn, reserveB - amountOut);
            tokenOut = tokenB;
        } else {
            _setReserves(reserveA - amountOut, uint256(reserveB) + amountIn);
            tokenOut = tokenA;
        }
        _pull(tokenIn, amountIn);
        _send(tokenOut, amountOut);
        emit Swap(msg.sender, tokenIn, amountIn, tokenOut, amountOut);
    }

    /// What `swap(tokenIn, amountIn, 0)` would pay out now, after the 0.3% fee.
    function getAmountOut(address tokenIn, uint256 amountIn) public view returns (uint256) {
        bool aToB = _isTokenA(tokenIn);
        if (amountIn == 0) revert ZeroAmount();
        (uint256 reserveIn, uint256 reserveOut) = aToB ? (reserveA, reserveB) : (reserveB, reserveA);
        if (reserveIn == 0 || reserveOut == 0) revert NoLiquidity();
        uint256 amountInWithFee = amountIn * 997;
        return (amountInWithFee * reserveOut) / (reserveIn * 1000 + amountInWithFee);
    }

    function _setReserves(uint256 a, uint256 b) private {
        if (a > type(uint112).max || b > type(uint112).max) revert ReserveOverflow();
        reserveA = uint112(a);
        reserveB = uint112(b);
        lastUpdate = uint32(block.timestamp);
    }

    function _isTokenA(address token) private view returns (bool) {
        if (token == tokenA) return true;
        if (token == tokenB) return false;
        revert UnknownToken(token);
    }

    function _pull(address token, uint256 amount) private {
        if (!IERC20Minimal(token).transferFrom(msg.sender, address(this), amount)) revert TransferFailed(token);
    }

    function _send(address token, uint256 amount) private {
        if (!IERC20Minimal(token).transfer(msg.sender, amount)) revert TransferFailed(token);
    }

    function _sqrt(uint256 y) private pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}
