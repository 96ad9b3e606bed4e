import CCRC32C
import ReconCore

/// The CRC-32C of log records: the CPU's instruction where there is one (SSE4.2),
/// else ReconCore's software table. Both give the same value, so a log written on
/// one machine verifies on any other. Public for others that checksum a lot of
/// bytes (`recon append` comparing a large file's two readings).
public enum RecordChecksum {
    static let usesHardware = recon_crc32c_hardware_available() != 0

    public static func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard usesHardware else { return CRC32C.checksum(bytes) }
        return hardware(bytes)
    }

    /// The instruction's result alone, for the test that holds it to the table's.
    static func hardware(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        recon_crc32c_hardware(0xFFFF_FFFF, bytes.baseAddress, bytes.count) ^ 0xFFFF_FFFF
    }
}
