#include "airwatch/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <exception>
#include <limits>
#include <string>
#include <thread>
#include <unordered_map>

#include "airwatch/error.hpp"
#include "airwatch/validate.hpp"

namespace airwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct UnterminatedQuote {
  std::size_t local_row;
};

// Splits one line into fields (views into the line, or into scratch for fields with "" escapes).
// Returns false on an unterminated quote. scratch is a deque because the views into it must survive
// the next field's push_back; a vector moved its strings and left the views dangling.
bool split_line(std::string_view line, std::vector<std::string_view>& fields,
                std::deque<std::string>& scratch) {
  fields.clear();
  scratch.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    if (i < n && line[i] == '"') {
      std::size_t j = i + 1;
      bool escaped = false;
      while (true) {
        const std::size_t q = line.find('"', j);
        if (q == std::string_view::npos) return false;
        if (q + 1 < n && line[q + 1] == '"') {
          escaped = true;
          j = q + 2;
          continue;
        }
        std::string_view inner = line.substr(i + 1, q - i - 1);
        if (escaped) {
          std::string s;
          s.reserve(inner.size());
          for (std::size_t k = 0; k < inner.size(); ++k) {
            s.push_back(inner[k]);
            if (inner[k] == '"' && k + 1 < inner.size() && inner[k + 1] == '"') ++k;
          }
          scratch.push_back(std::move(s));
          fields.emplace_back(scratch.back());
        } else {
          fields.push_back(inner);
        }
        i = q + 1;
        break;
      }
      // Skip anything between the closing quote and the separator.
      const std::size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) return true;
      i = comma + 1;
    } else {
      const std::size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) {
        fields.push_back(line.substr(i));
        return true;
      }
      fields.push_back(line.substr(i, comma - i));
      i = comma + 1;
    }
  }
}

// Latin-1 maps each byte to the code point of the same number, so every byte string decodes.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (b < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) {
  s = trim(s);
  return s.empty() || s == ".";
}

double parse_double(std::string_view s) {
  s = trim(s);
  if (s.empty()) return kNaN;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return kNaN;
  return v;
}

int64_t parse_int(std::string_view s) {
  s = trim(s);
  if (s.empty()) return -1;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return -1;
  if (ptr != s.data() + s.size()) {
    // "1.0" style integers appear in some exports.
    const double d = parse_double(s);
    // Outside int64's range (1e300, inf) the conversion is undefined behaviour.
    if (std::isnan(d) || d != std::floor(d) || d < -0x1p63 || d >= 0x1p63) return -1;
    return static_cast<int64_t>(d);
  }
  return v;
}

bool digits(std::string_view s, std::size_t from, std::size_t count, unsigned& out) {
  out = 0;
  for (std::size_t k = from; k < from + count; ++k) {
    if (k >= s.size() || s[k] < '0' || s[k] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[k] - '0');
  }
  return true;
}

int32_t parse_date(std::string_view s) {
  s = trim(s);
  unsigned y = 0, m = 0, d = 0;
  bool ok = false;
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    ok = digits(s, 0, 4, y) && digits(s, 5, 2, m) && digits(s, 8, 2, d);
  } else if (s.size() == 10 && s[2] == '/' && s[5] == '/') {
    ok = digits(s, 0, 2, m) && digits(s, 3, 2, d) && digits(s, 6, 4, y);
  }
  if (!ok || m < 1 || m > 12 || d < 1) return kMissingDay;
  static constexpr unsigned month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[m - 1] || (m == 2 && d == 29 && !leap)) return kMissingDay;
  return days_from_civil(static_cast<int>(y), m, d);
}

int32_t parse_hour(std::string_view s) {
  s = trim(s);
  unsigned h = 0, mi = 0;
  if (s.size() == 5 && s[2] == ':' && digits(s, 0, 2, h) && digits(s, 3, 2, mi) && h < 24 && mi < 60) {
    return static_cast<int32_t>(h);
  }
  return -1;
}

int64_t parse_site(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  int count = 0;
  for (char c : s) {
    if (c == '-') continue;
    if (c < '0' || c > '9') return -1;
    // More than 9 digits is no site id; stopping here also keeps v from overflowing.
    if (++count > 9) return -1;
    v = v * 10 + (c - '0');
  }
  return count == 9 ? v : -1;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Dictionary = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct ChunkResult {
  std::size_t rows = 0;
  std::vector<Column> columns;
  std::vector<Dictionary> dicts;
  std::vector<int32_t> last_code;  // per column: code of the previous row, for runs of equal values
  std::vector<uint8_t> row_flags;
};

// Stores one field; returns false when it held text that did not parse as its kind.
bool store_field(std::string_view f, std::size_t c, ColumnKind kind, ChunkResult& out) {
  Column& col = out.columns[c];
  switch (kind) {
    case ColumnKind::float64: {
      const double v = parse_double(f);
      col.f64.push_back(v);
      return !std::isnan(v) || is_blank(f);
    }
    case ColumnKind::int64: {
      const int64_t v = parse_int(f);
      col.i64.push_back(v);
      return v != -1 || is_blank(f) || trim(f) == "-1";
    }
    case ColumnKind::site_id: {
      const int64_t v = parse_site(f);
      col.i64.push_back(v);
      return v != -1 || is_blank(f);
    }
    case ColumnKind::date: {
      const int32_t v = parse_date(f);
      col.i32.push_back(v);
      return v != kMissingDay || is_blank(f);
    }
    case ColumnKind::hour: {
      const int32_t v = parse_hour(f);
      col.i32.push_back(v);
      return v != -1 || is_blank(f);
    }
    case ColumnKind::dictionary: {
      std::string_view key = trim(f);
      int32_t& last = out.last_code[c];
      // EPA files are sorted, so most rows repeat the previous row's value.
      if (last >= 0 && col.categories[static_cast<std::size_t>(last)] == key) {
        col.i32.push_back(last);
        return true;
      }
      // Categories become Python str, which must be UTF-8. EPA files are ASCII but for some old
      // files' site names in Latin-1; those are decoded as Latin-1 (before the lookup, so a name
      // written both ways is one category) rather than failing the whole file.
      std::string decoded;
      if (!is_utf8(key)) {
        decoded = latin1_to_utf8(key);
        key = decoded;
      }
      auto& dict = out.dicts[c];
      auto it = dict.find(key);
      if (it == dict.end()) {
        it = dict.emplace(std::string(key), static_cast<int32_t>(col.categories.size())).first;
        col.categories.emplace_back(key);
      }
      last = it->second;
      col.i32.push_back(last);
      return true;
    }
  }
  return true;
}

// One pass over the chunk's bytes: fields are found by a plain character loop (EPA fields are short,
// so a call to memchr per field costs more than it saves), and only requested columns are converted.
void parse_chunk(std::string_view chunk, const std::vector<ColumnRequest>& req, const std::vector<int>& index,
                 std::size_t header_fields, ChunkResult& out) {
  out.columns.resize(req.size());
  out.dicts.resize(req.size());
  out.last_code.assign(req.size(), -1);
  std::vector<int> slot(header_fields, -1);  // field position -> requested column
  for (std::size_t c = 0; c < req.size(); ++c) {
    if (index[c] >= 0) slot[static_cast<std::size_t>(index[c])] = static_cast<int>(c);
  }
  const std::size_t first_line = std::min(chunk.size(), chunk.find('\n') + 1);
  const std::size_t expected = first_line > 0 ? chunk.size() / first_line + 16 : 16;
  for (std::size_t c = 0; c < req.size(); ++c) {
    if (index[c] < 0) continue;
    Column& col = out.columns[c];
    switch (req[c].kind) {
      case ColumnKind::float64:
        col.f64.reserve(expected);
        break;
      case ColumnKind::int64:
      case ColumnKind::site_id:
        col.i64.reserve(expected);
        break;
      default:
        col.i32.reserve(expected);
    }
  }
  out.row_flags.reserve(expected);
  std::vector<uint8_t> seen(req.size());
  std::string unescaped;
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  while (p < end) {
    if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {  // blank line
      p += *p == '\r' ? 2 : 1;
      continue;
    }
    std::size_t field = 0;
    bool parsed = true;
    std::fill(seen.begin(), seen.end(), 0);
    while (true) {
      std::string_view value;
      // After a trailing comma p may be at the end: the row's last field is empty, and *p is not
      // ours to read (a memory-mapped file can end on a page boundary).
      if (p < end && *p == '"') {
        const char* q = ++p;
        bool escaped = false;
        while (true) {
          while (q < end && *q != '"' && *q != '\n') ++q;
          if (q >= end || *q == '\n') throw UnterminatedQuote{out.rows + 1};
          if (q + 1 < end && q[1] == '"') {
            escaped = true;
            q += 2;
            continue;
          }
          break;
        }
        value = std::string_view(p, static_cast<std::size_t>(q - p));
        if (escaped) {
          unescaped.clear();
          for (std::size_t k = 0; k < value.size(); ++k) {
            unescaped.push_back(value[k]);
            if (value[k] == '"') ++k;
          }
          value = unescaped;
        }
        p = q + 1;
        while (p < end && *p != ',' && *p != '\n') ++p;  // anything after the closing quote is ignored
      } else {
        const char* q = p;
        while (q < end && *q != ',' && *q != '\n') ++q;
        value = std::string_view(p, static_cast<std::size_t>(q - p));
        p = q;
      }
      if (field < slot.size() && slot[field] >= 0) {
        const auto c = static_cast<std::size_t>(slot[field]);
        parsed &= store_field(value, c, req[c].kind, out);
        seen[c] = 1;
      }
      ++field;
      if (p < end && *p == ',') {
        ++p;
        continue;
      }
      if (p < end) ++p;  // the newline
      break;
    }
    // Requested columns the row is too short to have are missing values.
    for (std::size_t c = 0; c < req.size(); ++c) {
      if (index[c] >= 0 && !seen[c]) store_field(std::string_view{}, c, req[c].kind, out);
    }
    out.row_flags.push_back(static_cast<uint8_t>((field == header_fields ? 0 : kRowWrongFieldCount) |
                                                 (parsed ? 0 : kRowUnparseable)));
    ++out.rows;
  }
}

}  // namespace

bool is_utf8(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    // Well-formed sequences (Unicode Table 3-7): no overlong forms, surrogates or code points
    // above U+10FFFF, which Python's decoder rejects as well.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len) return false;
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

int32_t days_from_civil(int year, unsigned month, unsigned day) noexcept {
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int32_t>(era * 146097 + static_cast<int>(doe) - 719468);
}

CsvTable read_csv(std::string_view data, const std::vector<ColumnRequest>& req, int threads) {
  return read_csv_chunked(data, req, threads, std::size_t{1} << 20);
}

CsvTable read_csv_chunked(std::string_view data, const std::vector<ColumnRequest>& req, int threads,
                          std::size_t chunk_bytes) {
  // A UTF-8 byte-order mark would become part of the first column's name.
  if (data.starts_with("\xEF\xBB\xBF")) data.remove_prefix(3);
  const std::size_t header_end = data.find('\n');
  std::string_view header_line = data.substr(0, header_end);
  if (!header_line.empty() && header_line.back() == '\r') header_line.remove_suffix(1);
  if (trim(header_line).empty()) throw Error("empty input: no header line");
  // The header names the columns, so it must be text; a binary file (an image, a .zip or .gz under a
  // .csv name) or a UTF-16 export fails here with a message, not later as garbage columns.
  if (header_line.find('\0') != std::string_view::npos)
    throw Error("not a text CSV file: the header has NUL bytes (binary data, or UTF-16 text)");
  if (!is_utf8(header_line)) throw Error("not a text CSV file: the header is not UTF-8");
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  if (!split_line(header_line, fields, scratch)) throw Error("unterminated quote in the header line");

  CsvTable table;
  for (auto f : fields) table.header.emplace_back(trim(f));
  std::vector<int> index(req.size(), -1);
  for (std::size_t c = 0; c < req.size(); ++c) {
    const auto it = std::find(table.header.begin(), table.header.end(), req[c].name);
    if (it != table.header.end()) index[c] = static_cast<int>(it - table.header.begin());
  }

  const std::string_view body =
      header_end == std::string_view::npos ? std::string_view{} : data.substr(header_end + 1);
  const std::size_t wanted = body.size() / std::max<std::size_t>(chunk_bytes, 1) + 1;
  const int parts =
      static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(std::max(threads, 1), wanted)));
  std::vector<std::string_view> chunks;
  std::size_t start = 0;
  for (int p = 1; p <= parts && start < body.size(); ++p) {
    std::size_t end = p == parts
                          ? body.size()
                          : body.size() * static_cast<std::size_t>(p) / static_cast<std::size_t>(parts);
    if (end < start) end = start;
    if (p != parts) {
      const std::size_t nl = body.find('\n', end);
      end = nl == std::string_view::npos ? body.size() : nl + 1;
    }
    chunks.push_back(body.substr(start, end - start));
    start = end;
  }

  std::vector<ChunkResult> results(chunks.size());
  auto run = [&](std::size_t k) { parse_chunk(chunks[k], req, index, table.header.size(), results[k]); };
  try {
    if (chunks.size() <= 1) {
      if (!chunks.empty()) run(0);
    } else {
      std::vector<std::thread> pool;
      std::vector<std::exception_ptr> errors(chunks.size());
      for (std::size_t k = 0; k < chunks.size(); ++k) {
        pool.emplace_back([&, k] {
          try {
            run(k);
          } catch (...) {
            errors[k] = std::current_exception();
          }
        });
      }
      for (auto& t : pool) t.join();
      for (auto& e : errors) {
        if (e) std::rethrow_exception(e);
      }
    }
  } catch (const UnterminatedQuote&) {
    // Parse again in one piece so the error names the row of the whole file.
    ChunkResult whole;
    try {
      parse_chunk(body, req, index, table.header.size(), whole);
    } catch (const UnterminatedQuote& q) {
      throw Error("unterminated quote in data row " + std::to_string(q.local_row));
    }
  }

  table.columns.resize(req.size());
  for (std::size_t c = 0; c < req.size(); ++c) {
    Column& col = table.columns[c];
    col.name = req[c].name;
    col.kind = req[c].kind;
    col.present = index[c] >= 0;
  }
  for (auto& r : results) table.rows += r.rows;
  table.row_flags.reserve(table.rows);
  for (auto& r : results) {
    table.row_flags.insert(table.row_flags.end(), r.row_flags.begin(), r.row_flags.end());
  }
  for (std::size_t c = 0; c < req.size(); ++c) {
    Column& col = table.columns[c];
    if (!col.present) continue;
    if (results.size() == 1) {
      col.f64 = std::move(results[0].columns[c].f64);
      col.i64 = std::move(results[0].columns[c].i64);
      col.i32 = std::move(results[0].columns[c].i32);
      col.categories = std::move(results[0].columns[c].categories);
      continue;
    }
    Dictionary global;
    for (auto& r : results) {
      Column& part = r.columns[c];
      col.f64.insert(col.f64.end(), part.f64.begin(), part.f64.end());
      col.i64.insert(col.i64.end(), part.i64.begin(), part.i64.end());
      if (req[c].kind == ColumnKind::dictionary) {
        std::vector<int32_t> remap(part.categories.size());
        for (std::size_t k = 0; k < part.categories.size(); ++k) {
          auto it = global.find(part.categories[k]);
          if (it == global.end()) {
            it = global.emplace(part.categories[k], static_cast<int32_t>(col.categories.size())).first;
            col.categories.push_back(part.categories[k]);
          }
          remap[k] = it->second;
        }
        for (int32_t code : part.i32) col.i32.push_back(remap[static_cast<std::size_t>(code)]);
      } else {
        col.i32.insert(col.i32.end(), part.i32.begin(), part.i32.end());
      }
    }
  }
  return table;
}

}  // namespace airwatch
