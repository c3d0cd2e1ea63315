import Foundation
import ReciprocityCore

// The RFC known answers: X25519 (RFC 7748) and HKDF-SHA256 (RFC 5869):
// the test type, how this implementation checks it, and how the generator makes it.

public struct X25519Vector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var `private`: String
    public var `public`: String
    public var shared: String
    public var result: String
}

/// One test of HKDF-SHA256 (RFC 5869), with the intermediate PRK.
public struct HKDFVector: VectorTest {
    public var tcId = 0
    public var comment: String
    public var flags: [String]
    public var ikm: String
    public var salt: String
    public var info: String
    public var size: Int
    public var prk: String
    public var okm: String
    public var result: String
}

/// One test of the wire encoding of a binary value.

extension X25519Vector: CheckableVector {
    static let algorithm = "X25519"

    func failure() -> String? {
        compare(
            result: result, expectedError: nil,
            Result {
                let key = try X25519.PrivateKeyHandle(rawPrivateKey: Hex.decode(`private`))
                return [field("shared", shared, Hex.encode(try X25519.sharedSecret(key, peer: Hex.decode(`public`))))]
            })
    }
}

extension HKDFVector: CheckableVector {
    static let algorithm = "HKDF-SHA-256"

    func failure() -> String? {
        compare(
            result: result, expectedError: nil,
            Result {
                let computedPRK = try HKDF.extract(salt: Hex.decode(salt), inputKeyMaterial: Hex.decode(ikm))
                let computedOKM = try HKDF.expand(pseudorandomKey: computedPRK, info: Hex.decode(info), length: size)
                return [field("prk", prk, Hex.encode(computedPRK)), field("okm", okm, Hex.encode(computedOKM))]
            })
    }
}

extension VectorGenerator {
    static func x25519File() -> VectorFile<X25519Vector> {
        let alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
        let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        let bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
        let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        let base = "0900000000000000000000000000000000000000000000000000000000000000"
        func test(_ comment: String, _ flag: String, _ k: String, _ u: String, _ out: String) -> X25519Vector {
            X25519Vector(comment: comment, flags: [flag], private: k, public: u, shared: out, result: "valid")
        }
        return VectorFile(
            algorithm: X25519Vector.algorithm, schema: "xdh_comp_schema.json",
            header: ["X25519 known answers from RFC 7748 sections 5.2 and 6.1; binary values are lowercase hex."],
            notes: [
                "Rfc7748Sec6.1": "The Diffie-Hellman example of RFC 7748 section 6.1.",
                "Rfc7748Sec5.2":
                    "A scalar-multiplication test of RFC 7748 section 5.2; the raw function masks bit 255 of u.",
                "PublicKeyDerivation": "X25519(k, 9): the public key of k.",
            ],
            groups: [
                VectorGroup(
                    type: "XdhComp", comment: "RFC 7748 section 6.1",
                    tests: [
                        test("alice's public key", "PublicKeyDerivation", alice, base, alicePublic),
                        test("bob's public key", "PublicKeyDerivation", bob, base, bobPublic),
                        test("alice computes K", "Rfc7748Sec6.1", alice, bobPublic, shared),
                        test("bob computes K", "Rfc7748Sec6.1", bob, alicePublic, shared),
                    ]),
                VectorGroup(
                    type: "XdhComp", comment: "RFC 7748 section 5.2",
                    tests: [
                        test(
                            "first scalar multiplication", "Rfc7748Sec5.2",
                            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
                        test(
                            "second scalar multiplication (bit 255 of u set)", "Rfc7748Sec5.2",
                            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
                    ]),
            ])
    }

    static func hkdfFile() -> VectorFile<HKDFVector> {
        func range(_ bytes: ClosedRange<UInt8>) -> String { Hex.encode(Array(bytes)) }
        let ikm22 = String(repeating: "0b", count: 22)
        return VectorFile(
            algorithm: HKDFVector.algorithm, schema: "hkdf_test_schema.json",
            header: ["HKDF-SHA256 known answers from RFC 5869 appendix A.1-A.3, with the intermediate PRK."],
            notes: ["Rfc5869": "A test case from RFC 5869 appendix A."],
            groups: [
                VectorGroup(
                    type: "HkdfTest", comment: "RFC 5869 appendix A, SHA-256 cases",
                    tests: [
                        HKDFVector(
                            comment: "A.1 basic test case", flags: ["Rfc5869"], ikm: ikm22, salt: range(0x00...0x0c),
                            info: range(0xf0...0xf9), size: 42,
                            prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                            okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
                            result: "valid"),
                        HKDFVector(
                            comment: "A.2 longer inputs and outputs", flags: ["Rfc5869"], ikm: range(0x00...0x4f),
                            salt: range(0x60...0xaf), info: range(0xb0...0xff), size: 82,
                            prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                            okm:
                                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
                            result: "valid"),
                        HKDFVector(
                            comment: "A.3 zero-length salt and info", flags: ["Rfc5869"], ikm: ikm22, salt: "",
                            info: "",
                            size: 42, prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                            okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
                            result: "valid"),
                    ])
            ])
    }
}
