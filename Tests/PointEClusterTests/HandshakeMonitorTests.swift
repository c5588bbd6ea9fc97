import CZeroMQ
import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import XCTest

/// libzmq sends socket-monitor events from its I/O thread with a blocking send. A monitor
/// whose reading end was closed while the watched socket lived on froze that thread at the
/// next event, and with it every ZeroMQ socket of the process (the CI failure of 2026-11-25:
/// every cluster test after the first such close saw no traffic at all).
final class HandshakeMonitorTests: XCTestCase {
    func testClosingTheMonitorBeforeItsSocketLeavesTheProcessTransportWorking() throws {
        let watched = try ZMQSocket(type: ZMQ_ROUTER, label: "watched", options: TransportOptions())
        let monitor = try HandshakeMonitor(watching: watched, label: "watched")
        try watched.bind("tcp://127.0.0.1:*")
        let peer = try ZMQSocket(type: ZMQ_DEALER, label: "peer", options: TransportOptions())
        try peer.connect(watched.lastEndpoint())
        XCTAssertTrue(try peer.send([Data("hello".utf8)]))
        XCTAssertTrue(watched.waitReadable(timeoutMs: 5000), "the watched socket never received the peer's message")
        _ = try watched.receive()

        // The endpoints' close order: monitor first, socket later. Meanwhile the peer goes away,
        // which makes libzmq emit a DISCONNECTED event on the watched socket.
        monitor.close()
        peer.close()
        // More peers come and go: each is a handshake and a disconnection event.
        for index in 0..<8 {
            usleep(50_000)
            let visitor = try ZMQSocket(type: ZMQ_DEALER, label: "visitor \(index)", options: TransportOptions())
            try visitor.connect(watched.lastEndpoint())
            _ = try visitor.send([Data("hi".utf8)])
            usleep(50_000)
            visitor.close()
        }
        usleep(200_000)

        // The process's I/O thread must still move messages between fresh sockets.
        let log = ClusterLog(role: "test", quiet: true)
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:*", log: log)
        let dealer = try DealerEndpoint(connect: router.address, identity: "after", log: log)
        dealer.send(.statusQuery(Pointe_Cluster_StatusQuery()))
        let received = try router.receive(timeoutMs: 5000)
        XCTAssertEqual(received.map { PeerName.describe($0.peer) }, "after", "no traffic after a monitor was closed: the I/O thread is stuck")
        dealer.close()
        router.close()
        watched.close()
    }
}
