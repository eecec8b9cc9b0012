#include "journal/note_queue.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;

class NoteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<RunWriter>> writer = journal_.CreateRun("r1");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    const NewRecord started{.time_us = 1, .type = "RunStarted", .payload = "{}"};
    ASSERT_TRUE((*writer)->Append({&started, 1}).ok());
  }

  std::vector<QueuedNote> Queued() const {
    Result<std::vector<QueuedNote>> notes = QueuedNotes(journal_, "r1");
    EXPECT_TRUE(notes.ok()) << notes.status().ToString();
    return notes.ok() ? *notes : std::vector<QueuedNote>();
  }

  testing::TempDir root_;
  Journal journal_{root_.path() / "journal"};
};

TEST_F(NoteQueueTest, NotesComeBackInQueueOrderWithTheirAuthors) {
  EXPECT_TRUE(Queued().empty());  // no folder yet
  std::vector<std::string> ids;
  for (const char* text : {"first", "second", "third"}) {
    Result<std::string> id = QueueNote(journal_, "r1", {.operator_name = "bob", .host = "h",
                                                        .text = text});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  const std::vector<QueuedNote> notes = Queued();
  ASSERT_EQ(notes.size(), 3u);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ(notes[i].id, ids[i]);
    EXPECT_EQ(notes[i].operator_name, "bob");
    EXPECT_EQ(notes[i].host, "h");
  }
  EXPECT_EQ(notes[0].text, "first");
  EXPECT_EQ(notes[2].text, "third");
  struct stat st {};
  ASSERT_EQ(::stat((journal_.NoteQueueDir("r1") / ids[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(journal_.NoteQueueDir("r1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  ASSERT_TRUE(RemoveQueuedNote(journal_, "r1", ids[1]).ok());
  ASSERT_TRUE(RemoveQueuedNote(journal_, "r1", ids[1]).ok());  // gone already: no error
  const std::vector<QueuedNote> left = Queued();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].text, "first");
  EXPECT_EQ(left[1].text, "third");
}

TEST_F(NoteQueueTest, BytesThatAreNotUtf8AreKeptMarked) {
  ASSERT_TRUE(QueueNote(journal_, "r1", {.operator_name = "b\xff", .host = "h", .text = "t\xfe"})
                  .ok());
  const std::vector<QueuedNote> notes = Queued();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].text, "t\xfe");  // marked (base/utf8.h), so JSON can carry it
  EXPECT_TRUE(notes[0].text.starts_with("t"));
}

TEST_F(NoteQueueTest, TempFilesAreNotNotesAndADamagedNoteIsCorruption) {
  const fs::path dir = journal_.NoteQueueDir("r1");
  fs::create_directories(dir);
  std::ofstream(dir / "00000000000000000001-1-abcd.tmp-backout") << "partial";
  EXPECT_TRUE(Queued().empty());
  std::ofstream(dir / "00000000000000000002-1-abcd") << "not json";
  Result<std::vector<QueuedNote>> notes = QueuedNotes(journal_, "r1");
  EXPECT_EQ(notes.status().code(), Code::kCorruption);
}

TEST_F(NoteQueueTest, AnUnknownRunGetsNoQueue) {
  Result<std::string> id = QueueNote(journal_, "r2", {.text = "x"});
  EXPECT_EQ(id.status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(journal_.NoteQueueDir("r2")));
}

}  // namespace
}  // namespace backout::journal
