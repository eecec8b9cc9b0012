// The writers behind WriteReport (report/render.h), one per form; internal to report/.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "report/document.h"
#include "report/render.h"
#include "report/report.h"

namespace backout::report {

// Each writes its whole form, the JSON one with its final newline.
Status WriteJson(const RunReport& report, const EventLists& lists, const OutputSink& out);
Status WriteMarkdown(const RunReport& report, const EventLists& lists, const OutputSink& out);
Status WriteHtml(const RunReport& report, const EventLists& lists, const OutputSink& out);

// A form's text as it is made: what is known at once gathers in `piece`, written out before a
// streamed list (or at the end), whose items are written one at a time.
class PieceWriter {
 public:
  explicit PieceWriter(const OutputSink& out) : out_(out) {}

  std::string& piece() { return piece_; }

  Status Flush() {
    if (piece_.empty()) return Status::Ok();
    BACKOUT_RETURN_IF_ERROR(out_(piece_));
    piece_.clear();
    return Status::Ok();
  }

  // What `scan` visits, each item appended by `item(x, &text)` as it comes: `open` before the
  // first; after the last, `close`, or `if_none` when there was none. Items gather in the
  // piece, written out whenever it holds kStreamedBytes: a call of `out` per item cost more
  // than the item's text.
  template <typename T, typename Item>
  Status Stream(const std::function<Status(const std::function<Status(const T&)>&)>& scan,
                std::string_view open, Item item, std::string_view close,
                std::string_view if_none) {
    BACKOUT_RETURN_IF_ERROR(Flush());
    bool any = false;
    BACKOUT_RETURN_IF_ERROR(scan([&](const T& x) -> Status {
      if (!any) {
        any = true;
        piece_.append(open);
      }
      item(x, &piece_);
      return piece_.size() < kStreamedBytes ? Status::Ok() : Flush();
    }));
    piece_.append(any ? close : if_none);
    return Status::Ok();
  }

 private:
  static constexpr std::size_t kStreamedBytes = std::size_t{1} << 16;

  const OutputSink& out_;
  std::string piece_;
};

}  // namespace backout::report
