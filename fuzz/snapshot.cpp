// The snapshot reader on arbitrary bytes, twice: as given (what a sync tool might
// deliver) and with a valid trailer recomputed over them, so the fuzzer gets past the
// checksum and explores the header, block and record decoding. Any outcome but a
// clean SnapshotError (or success) is a finding.
#include <cstdint>
#include <cstring>
#include <string>

#include <xxhash.h>

#include "sync/snapshot.hpp"

namespace {

void read_all(std::string bytes) {
  nfl::sync::SnapshotLimits limits;
  limits.max_block_bytes = 1U << 20; // keep one input's allocations small
  limits.max_header_bytes = 1U << 16;
  try {
    auto reader = nfl::sync::SnapshotReader::from_bytes(std::move(bytes), limits);
    nfl::sync::Record r;
    while (reader.next(r)) {
    }
  } catch (const nfl::sync::SnapshotError&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)nfl::sync::parse_snapshot_name(bytes.substr(0, 256));
  read_all(bytes);
  // Same bytes as the body of a well-formed file: magic + body + count + checksum + end.
  std::string framed = "NFLSNAP1" + bytes;
  std::uint64_t count = size > 0 ? data[0] : 0;
  framed.append(reinterpret_cast<const char*>(&count), 8);
  std::uint64_t sum = XXH3_64bits(framed.data(), framed.size());
  framed.append(reinterpret_cast<const char*>(&sum), 8);
  framed += "NFLSEND1";
  read_all(std::move(framed));
  return 0;
}
