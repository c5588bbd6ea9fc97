import CZeroMQ
import Foundation
@testable import PointEWire
import PointEClusterBase
import SwiftProtobuf
import XCTest

final class WireProtocolTests: XCTestCase {
    func testRoundTripAndVersionCheck() throws {
        var hello = Pointe_Cluster_Hello()
        hello.role = .sampler
        hello.peerName = "w1"
        hello.models = ["base40M-uncond"]
        let frame = WireProtocol.encode(.hello(hello))
        guard case .success(.hello(let back)) = WireProtocol.decode(frame) else { return XCTFail("hello did not round-trip") }
        XCTAssertEqual(back, hello)

        var future = Envelope()
        future.protocolVersion = WireProtocol.version + 1
        future.body = .hello(hello)
        XCTAssertEqual(WireProtocol.decode(try future.serializedData()).failureValue, .unsupportedVersion(WireProtocol.version + 1))
        XCTAssertTrue("\(WireProtocol.DecodeError.unsupportedVersion(7))".contains("version 7 is not supported"))

        var empty = Envelope()
        empty.protocolVersion = WireProtocol.version
        XCTAssertEqual(WireProtocol.decode(try empty.serializedData()).failureValue, .unknownBody)
        guard case .garbage = WireProtocol.decode(Data([0xFF, 0xFF, 0xFF, 0x0F, 0x01])).failureValue else { return XCTFail("garbage decoded") }
    }

    /// A rogue peer's garbage frames, multi-frame messages, empty bodies and a foreign protocol
    /// version are dropped (the last one answered with a Refusal) and the router keeps serving.
    func testRouterDropsGarbageAndRefusesOtherVersions() throws {
        let log = ClusterLog(role: "test", quiet: true)
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:*", log: log)
        let rogue = try ZMQSocket(type: ZMQ_DEALER, label: "rogue", options: TransportOptions())
        try rogue.set(ZMQ_ROUTING_ID, bytes: Data("rogue".utf8))
        try rogue.connect(router.address)
        var old = Envelope()
        old.protocolVersion = 99
        old.body = .heartbeat(Pointe_Cluster_Heartbeat())
        var noBody = Envelope()
        noBody.protocolVersion = WireProtocol.version
        for frames in [[Data("not a protobuf \u{00}\u{FF}".utf8)], [Data([1]), Data([2])], [try noBody.serializedData()], [try old.serializedData()]] {
            XCTAssertTrue(try rogue.send(frames))
        }
        let good = try DealerEndpoint(connect: router.address, identity: "good", log: log)
        good.send(.statusQuery(Pointe_Cluster_StatusQuery()))
        var received: (peer: Data, body: MessageBody, origin: PeerOrigin)?
        let deadline = monotonicMilliseconds() + 5000
        // Frames of different peers may arrive in any order: wait for all five.
        while received == nil || router.dropped < 4, monotonicMilliseconds() < deadline {
            if let message = try router.receive(timeoutMs: 100) { received = message }
        }
        XCTAssertEqual(received.map { PeerName.describe($0.peer) }, "good")
        XCTAssertEqual(router.dropped, 4)
        // The rogue peer with the foreign version was told why.
        var refusal: Pointe_Cluster_Refusal?
        while refusal == nil, monotonicMilliseconds() < deadline {
            guard rogue.waitReadable(timeoutMs: 100), let frames = try rogue.receive() else { continue }
            if case .success(.refusal(let r)) = WireProtocol.decode(frames[0]) { refusal = r }
        }
        XCTAssertEqual(refusal?.coordinatorProtocolVersion, WireProtocol.version)
        XCTAssertTrue(refusal?.reason.contains("protocol version 99") == true, refusal?.reason ?? "no refusal")
    }

    func testOversizedFramesAreNotDelivered() throws {
        let log = ClusterLog(role: "test", quiet: true)
        var options = TransportOptions()
        options.maxFrameBytes = 1024
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:*", options: options, log: log)
        let dealer = try DealerEndpoint(connect: router.address, identity: "big", log: log)
        var result = Pointe_Cluster_CloudResult()
        result.coords = Data(count: 4096)
        dealer.send(.cloudResult(result))
        XCTAssertNil(try router.receive(timeoutMs: 500), "a frame over the limit was delivered")
    }

    func testCloudPackingRoundTrip() throws {
        let packed = CloudPacking.pack(.init(coords: [1, 2, 3, 4, 5, 6], channels: [.init(name: "R", values: [0.1, 0.2]), .init(name: "G", values: [0.3, 0.4]), .init(name: "B", values: [0.5, 0.6])]))
        let cloud = try CloudPacking.unpack(count: packed.count, coords: packed.coords, colors: packed.colors, source: "test")
        XCTAssertEqual(cloud.coords, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(cloud.channel("G"), [0.3, 0.4])
        XCTAssertThrowsError(try CloudPacking.unpack(count: 3, coords: packed.coords, colors: packed.colors, source: "short"))
    }
}

extension Result {
    var failureValue: Failure? { if case .failure(let f) = self { return f } else { return nil } }
}
