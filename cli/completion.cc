#include "cli/completion.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace backout::cli {
namespace {

// One option as a completion offers it: every name ("-o", "--output"), whether a value
// follows it, and its help text.
struct OptionWords {
  std::vector<std::string> names;
  bool takes_value = false;
  std::string description;
};

struct SubcommandWords {
  std::string name;
  std::string description;
  std::vector<OptionWords> options;
  std::vector<SubcommandWords> subcommands;  // `backups list|show|verify|prune`; one level
};

std::vector<OptionWords> OptionsOf(const CLI::App& app) {
  std::vector<OptionWords> out;
  for (const CLI::Option* opt : app.get_options()) {
    if (!opt->nonpositional() || opt->get_group().empty()) continue;
    OptionWords words{.takes_value = opt->get_items_expected_max() > 0,
                      .description = opt->get_description()};
    for (const std::string& s : opt->get_snames()) words.names.push_back("-" + s);
    for (const std::string& l : opt->get_lnames()) words.names.push_back("--" + l);
    out.push_back(std::move(words));
  }
  return out;
}

// The subcommands `--help` lists, in the order they were added, each with its own.
std::vector<SubcommandWords> SubcommandsOf(const CLI::App& app) {
  std::vector<SubcommandWords> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) {
         return !s->get_group().empty();
       })) {
    out.push_back({sub->get_name(), sub->get_description(), OptionsOf(*sub), SubcommandsOf(*sub)});
  }
  return out;
}

std::vector<std::string> NamesOf(const std::vector<SubcommandWords>& subs) {
  std::vector<std::string> names;
  for (const SubcommandWords& s : subs) names.push_back(s.name);
  return names;
}

std::string AllNames(const std::vector<OptionWords>& options) {
  std::vector<std::string> names;
  for (const OptionWords& o : options) names.insert(names.end(), o.names.begin(), o.names.end());
  return fmt::format("{}", fmt::join(names, " "));
}

// A subcommand's case: its flags; with subcommands of its own, their names until one is
// given (the second word, `nested`), then that one's flags.
std::string BashCase(const SubcommandWords& s) {
  if (s.subcommands.empty()) {
    return fmt::format("    {}) flags=\"{}\" ;;\n", s.name, AllNames(s.options));
  }
  std::string nested;
  for (const SubcommandWords& n : s.subcommands) {
    nested += fmt::format("        {}) flags=\"{}\" ;;\n", n.name, AllNames(n.options));
  }
  return fmt::format(
      "    {}) if [[ -z $nested ]]; then\n"
      "        COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\")); return\n"
      "      fi\n"
      "      case \"$nested\" in\n{}      esac ;;\n",
      s.name, fmt::join(NamesOf(s.subcommands), " "), AllNames(s.options), nested);
}

std::string BashScript(const CLI::App& app) {
  const std::vector<SubcommandWords> subs = SubcommandsOf(app);
  std::string cases;
  for (const SubcommandWords& s : subs) cases += BashCase(s);
  return fmt::format(
      R"(# bash completion for backout (written by `backout completion bash`)
_backout() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" sub="" nested="" flags="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in
      -*) ;;
      *) if [[ -z $sub ]]; then sub="${{COMP_WORDS[i]}}"; else nested="${{COMP_WORDS[i]}}"; break; fi ;;
    esac
  done
  if [[ -z $sub ]]; then
    COMPREPLY=($(compgen -W "{} {}" -- "$cur"))
    return
  fi
  case "$sub" in
{}  esac
  # Anything else completes as a file name (complete -o default).
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); fi
}}
complete -o default -F _backout backout
)",
      fmt::join(NamesOf(subs), " "), AllNames(OptionsOf(app)), cases);
}

// Text inside a zsh single-quoted `_arguments` spec: no quote, no brackets, no colon.
std::string ZshText(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') break;  // the first line says enough
    if (c == '\'' || c == '[' || c == ']' || c == ':' || c == '\\') c = ' ';
    out += c;
  }
  return out;
}

std::string ZshSpecs(const std::vector<OptionWords>& options) {
  std::string out;
  for (const OptionWords& o : options) {
    for (const std::string& name : o.names) {
      out += fmt::format(" '{}[{}]{}'", name, ZshText(o.description),
                         o.takes_value ? ":value:_files" : "");
    }
  }
  return out;
}

// `'name:description'` lines for _describe.
std::string ZshDescribed(const std::vector<SubcommandWords>& subs, std::string_view indent) {
  std::string described;
  for (const SubcommandWords& s : subs) {
    described += fmt::format("{}'{}:{}'\n", indent, s.name, ZshText(s.description));
  }
  return described;
}

// A subcommand's case: its options; with subcommands of its own, their names as the next
// word, then that one's options.
std::string ZshCase(const SubcommandWords& s) {
  if (s.subcommands.empty()) {
    return fmt::format("    {}) _arguments{} '*:file:_files' ;;\n", s.name, ZshSpecs(s.options));
  }
  std::string nested;
  for (const SubcommandWords& n : s.subcommands) {
    nested += fmt::format("        {}) _arguments{} '*:file:_files' ;;\n", n.name,
                          ZshSpecs(n.options));
  }
  return fmt::format(
      "    {}) if (( CURRENT == 2 )); then\n"
      "        local -a nested\n"
      "        nested=(\n{}        )\n"
      "        _describe -t commands 'backout {} command' nested\n"
      "        _arguments{}\n"
      "        return\n"
      "      fi\n"
      "      local subsub=$words[2]\n"
      "      shift words\n"
      "      (( CURRENT-- ))\n"
      "      case $subsub in\n{}      esac ;;\n",
      s.name, ZshDescribed(s.subcommands, "          "), s.name, ZshSpecs(s.options), nested);
}

std::string ZshScript(const CLI::App& app) {
  const std::vector<SubcommandWords> subs = SubcommandsOf(app);
  const std::string described = ZshDescribed(subs, "    ");
  std::string cases;
  for (const SubcommandWords& s : subs) cases += ZshCase(s);
  return fmt::format(
      R"(#compdef backout
# zsh completion for backout (written by `backout completion zsh`)
_backout() {{
  local -a subcommands
  subcommands=(
{}  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'backout command' subcommands
    _arguments{}
    return
  fi
  local sub=$words[2]
  shift words
  (( CURRENT-- ))
  case $sub in
{}  esac
}}
_backout "$@"
)",
      described, ZshSpecs(OptionsOf(app)), cases);
}

}  // namespace

Result<std::string> CompletionScript(const CLI::App& app, std::string_view shell) {
  if (shell == "bash") return BashScript(app);
  if (shell == "zsh") return ZshScript(app);
  return Status::InvalidArgument(
      fmt::format("no completion for shell '{}' (bash or zsh)", shell));
}

}  // namespace backout::cli
