// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Greeter} from "../src/Greeter.sol";

/// The forge cheat codes this script uses (forge-std's Vm, without the dependency).
interface Vm {
    function startBroadcast() external;
    function stopBroadcast() external;
}

/// forge script script/Deploy.s.sol --sig "run(bytes32,uint256,string)" SALT NUMBER GREETING --broadcast
contract Deploy {
    Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run(bytes32 salt, uint256 number, string calldata greeting) external returns (Greeter greeter) {
        vm.startBroadcast();
        greeter = new Greeter{salt: salt}(number, greeting);
        greeter.setGreeting(string.concat(greeting, "!"));
        vm.stopBroadcast();
    }
}
