#include "cdc/rules.hpp"

#include <gtest/gtest.h>

namespace nudge::cdc {
namespace {

constexpr std::string_view kRules = R"(# bank rules
[[rule]]
table = "public.bank_account"
on = ["update"]
changed = ["balance"]
event = "balance_updated"
rooms = ["user_{user_id}", "account_{id}", "all"]
data = ["id"]

[[rule]]
table = "bank_transfer"
on = ["insert", "delete"]
where = { kind = "wire", amount = 5, done = true }
event = "transfer"
rooms = ["{{literal}}_{user_id}"]
)";

Catalog bank_catalog(char identity = 'f') {
    Catalog catalog;
    catalog["public.bank_account"] = {{"id", "user_id", "balance"}, {"id"}, identity};
    catalog["public.bank_transfer"] = {{"id", "user_id", "kind", "amount", "done"}, {"id"}, 'f'};
    return catalog;
}

TEST(Rules, ParsesEveryKey) {
    auto rules = parse_rules(kRules, "rules.toml");
    ASSERT_TRUE(rules.has_value()) << rules.error();
    ASSERT_EQ(rules->rules.size(), 2U);
    const Rule& balance = rules->rules[0];
    EXPECT_EQ(balance.table, "public.bank_account");
    EXPECT_TRUE(balance.handles(Operation::kUpdate));
    EXPECT_FALSE(balance.handles(Operation::kInsert));
    EXPECT_EQ(balance.changed, std::vector<std::string>{"balance"});
    ASSERT_EQ(balance.rooms.size(), 3U);
    ASSERT_EQ(balance.rooms[0].parts.size(), 2U);
    EXPECT_FALSE(balance.rooms[0].parts[0].column);
    EXPECT_EQ(balance.rooms[0].parts[0].text, "user_");
    EXPECT_TRUE(balance.rooms[0].parts[1].column);
    EXPECT_EQ(balance.rooms[0].parts[1].text, "user_id");
    const Rule& transfer = rules->rules[1];
    EXPECT_EQ(transfer.table, "public.bank_transfer");  // the schema defaults to public
    // TOML tables are unordered: the filters come sorted by column.
    using Filter = std::pair<std::string, std::optional<std::string>>;
    EXPECT_EQ(transfer.where, (std::vector<Filter>{{"amount", "5"}, {"done", "t"}, {"kind", "wire"}}));
    EXPECT_EQ(transfer.rooms[0].parts[0].text, "{literal}_");
    EXPECT_EQ(rules->tables(), (std::vector<std::string>{"public.bank_account", "public.bank_transfer"}));
    EXPECT_TRUE(check_rules(*rules, bank_catalog()).has_value());
}

struct BadRules {
    std::string_view text;
    std::string_view error;  // the start of the message
};

TEST(Rules, MistakesNameTheLineAndColumn) {
    const BadRules cases[] = {
        {"[[rule]]\ntable = \"t\"\non = [\"upsert\"]\n", "r.toml:3:6: on: unknown operation \"upsert\""},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"]\nevent = \"e\"\nrooms = [\"a_{x\"]\n",
         "r.toml:5:9: room template \"a_{x\" has a '{' without its '}'"},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"]\nevent = \"e\"\n", "r.toml:1:1: this rule has no rooms"},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"]\nevnt = \"e\"\n", "r.toml:4:8: unknown key \"evnt\""},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"]\nchanged = [\"a\"]\nevent = \"e\"\nrooms = [\"r\"]\n",
         "r.toml:4:11: changed applies to updates only"},
        {"[[rule]]\ntable = \"t\"\non = [\"truncate\"]\nevent = \"e\"\nrooms = [\"u_{id}\"]\n",
         "r.toml:1:1: a truncate has no row"},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"]\nevent = \"e\"\nrooms = [\"r\"]\ndata = [\"lsn\"]\n",
         "r.toml:6:8: data: \"lsn\" is reserved"},
        {"[[rule]]\ntable = \"t\"\non = [\"insert\"\n", "r.toml:3:16: Error while parsing array"},
        {"[rules]\n", "r.toml:1:1: unknown key \"rules\""},
        {"", "r.toml:1:1: no [[rule]] tables"},
    };
    for (const auto& bad : cases) {
        auto rules = parse_rules(bad.text, "r.toml");
        ASSERT_FALSE(rules.has_value()) << bad.text;
        EXPECT_EQ(rules.error().substr(0, bad.error.size()), bad.error) << rules.error();
    }
}

TEST(Rules, UnknownTablesAndColumnsNameTheLine) {
    auto rules = parse_rules(kRules, "rules.toml");
    ASSERT_TRUE(rules.has_value());
    Catalog missing_table = bank_catalog();
    missing_table.erase("public.bank_transfer");
    auto error = check_rules(*rules, missing_table);
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error(), "rules.toml:11:9: table public.bank_transfer does not exist (or this role cannot see it)");

    Catalog no_user = bank_catalog();
    no_user["public.bank_account"].columns = {"id", "balance"};
    error = check_rules(*rules, no_user);
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error(),
              "rules.toml:7:9: room template \"user_{user_id}\" names column \"user_id\", which "
              "table public.bank_account does not have (its columns: id, balance)");

    Catalog no_kind = bank_catalog();
    no_kind["public.bank_transfer"].columns = {"id", "user_id", "amount", "done"};
    error = check_rules(*rules, no_kind);
    ASSERT_FALSE(error.has_value());
    EXPECT_NE(error.error().find("rules.toml:13:9: where names column \"kind\""), std::string::npos) << error.error();
}

TEST(Rules, OldValuesNeedReplicaIdentityFull) {
    auto rules = parse_rules(kRules, "rules.toml");
    ASSERT_TRUE(rules.has_value());
    auto error = check_rules(*rules, bank_catalog('d'));
    ASSERT_FALSE(error.has_value());
    EXPECT_NE(error.error().find("rules.toml:2:1: the rule on public.bank_account needs old values"),
              std::string::npos) << error.error();
    EXPECT_NE(error.error().find("ALTER TABLE public.bank_account REPLICA IDENTITY FULL"), std::string::npos);

    // A delete reading only key columns works with the default identity.
    auto by_key = parse_rules("[[rule]]\ntable = \"t\"\non = [\"delete\"]\nevent = \"gone\"\nrooms = [\"t_{id}\"]\n", "k.toml");
    ASSERT_TRUE(by_key.has_value());
    Catalog catalog;
    catalog["public.t"] = {{"id", "owner"}, {"id"}, 'd'};
    EXPECT_TRUE(check_rules(*by_key, catalog).has_value());
    auto by_owner = parse_rules("[[rule]]\ntable = \"t\"\non = [\"delete\"]\nevent = \"gone\"\nrooms = [\"u_{owner}\"]\n", "k.toml");
    ASSERT_TRUE(by_owner.has_value());
    error = check_rules(*by_owner, catalog);
    ASSERT_FALSE(error.has_value());
    EXPECT_NE(error.error().find("column \"owner\" of the old row"), std::string::npos) << error.error();
}

}  // namespace
}  // namespace nudge::cdc
