// Row-level validation rules for normalized daily observations. Each row gets a bit mask of the rules
// it breaks (0 = valid); the Python side turns the bits into reason codes in the quarantine dataset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace airwatch {

enum Reason : uint32_t {
  kValid = 0,
  kMissingValue = 1u << 0,
  kValueOutOfRange = 1u << 1,
  kBadDate = 1u << 2,
  kBadCoordinates = 1u << 3,
  kBadCompleteness = 1u << 4,
  kUnknownParameter = 1u << 5,
  kBadSiteId = 1u << 6,
  kBadUnits = 1u << 7,
  kDuplicateKey = 1u << 8,
  kMalformedRow = 1u << 9,
  kOutOfScope = 1u << 10,  // a valid row about something AirWatch does not cover (a non-AQS site)
  kUnparseable = 1u << 11,
};

// (bit, code) pairs in bit order; the codes are the stable names stored with quarantined rows.
std::vector<std::pair<uint32_t, std::string>> reason_codes();

// Units as the parser encodes them.
enum UnitCode : int32_t {
  kUnitUnknown = -1,
  kUnitMicrogramsPerCubicMeter = 0,
  kUnitPpm = 1,
  kUnitPpb = 2,
  kUnitDegreesFahrenheit = 3,
  kUnitKnots = 4,
  kUnitDegreesCompass = 5,
  kUnitPercentHumidity = 6,
  kUnitMillibars = 7,
};

inline constexpr int64_t kSiteOutOfScope = -2;  // parsers mark non-AQS sites (Canada, Mexico) this way

inline constexpr int32_t kMissingDay = INT32_MIN;

struct ObservationColumns {
  std::size_t n = 0;
  const int64_t* site = nullptr;       // SSCCCNNNN as an integer, -1 when unparseable
  const int32_t* parameter = nullptr;  // AQS parameter code
  const int32_t* poc = nullptr;        // parameter occurrence code
  const int32_t* day = nullptr;        // days since 1970-01-01, kMissingDay when unparseable
  const int32_t* series = nullptr;     // encoded (sample duration, pollutant standard), part of the key
  const int32_t* unit = nullptr;       // UnitCode
  const double* value = nullptr;
  const double* percent_complete = nullptr;  // NaN when the source has no such field
  const double* latitude = nullptr;          // NaN when the source leaves it blank
  const double* longitude = nullptr;
  const uint8_t* row_flags = nullptr;  // optional: kRowWrongFieldCount | kRowUnparseable from the parser
};

// Writes each row's reason mask to out. Rows dated after max_day are bad dates (a value from the
// future is a parsing or clock error). The first row of a key (site, parameter, poc, series, day) is
// kept; later rows with the same key are flagged kDuplicateKey.
void validate_observations(const ObservationColumns& cols, int32_t max_day, uint32_t* out);

}  // namespace airwatch
