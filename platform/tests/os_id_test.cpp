#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "platform/os_id.hpp"

using namespace pilot::platform;

TEST_CASE("os-release: ID cut at '-', rhel/suse keep the major version, others drop dots") {
  CHECK(parse_os_release("ID=\"ol\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\n").id() == "ol93");
  CHECK(parse_os_release("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\nVERSION_ID=\"15.5\"\n")
            .id() == "opensuse15");
  CHECK(parse_os_release("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n").id() == "ubuntu2204");
  CHECK(parse_os_release("ID=debian\n").id() == "debiantesting");
  CHECK(parse_os_release("ID=debian\nVERSION_ID=\"12\"\n").id() == "debian12");
  CHECK(parse_os_release("ID=scientific\nVERSION_ID=7.9\n").id() == "sl79");
  CHECK(parse_os_release("ID=scientific\nID_LIKE=\"rhel fedora\"\nVERSION_ID=7.9\n").id() == "sl7");
  CHECK(parse_os_release("NAME=x\n").id() == "linux");
  CHECK(parse_os_release("  ID='centos'  \nVERSION_ID='7'\nID_LIKE=\"rhel\"\n").id() == "centos7");
  // name + ID_LIKE are searched as one string, as LbPlatformUtils concatenates them.
  CHECK(parse_os_release("ID=su\nID_LIKE=se\nVERSION_ID=1.2\n").id() == "su1");
}

TEST_CASE("os-release with binary junk never throws") {
  static const char kJunk[] =
      "ID=\xff\xfe\x00"
      "abc\nVERSION_ID=\x80.\x81\n\x00\x00=\n";
  std::string junk(kJunk, sizeof kJunk - 1);
  auto r = parse_os_release(junk);
  CHECK(r.name.starts_with("\xff\xfe"));
  CHECK(r.version == "\x80\x81");
}

TEST_CASE("redhat-release: the last ' release <digits>' of the first line") {
  CHECK(parse_system_release("Scientific Linux CERN SLC release 6.10 (Carbon)\n").id() == "slc6");
  CHECK(parse_system_release("Scientific Linux release 7.9 (Nitrogen)\n").id() == "sl7");
  CHECK(parse_system_release("CentOS Linux release 7.9.2009 (Core)\n").id() == "centos7");
  CHECK(parse_system_release("Red Hat Enterprise Linux Server release 7.9 (Maipo)\n").id() ==
        "rhel7");
  CHECK(parse_system_release("Fedora release 39 (Thirty Nine)\n").id() == "unknown39");
  CHECK(parse_system_release("CentOS release x\n").id() == "unknown");
  CHECK(parse_system_release("\nCentOS Linux release 7\n").id() == "unknown");
  CHECK(parse_system_release("CentOS release 5 release 6\n").id() == "centos6");
}

TEST_CASE("lsb-release: DISTRIB_ID lower-cased, DISTRIB_RELEASE without dots") {
  CHECK(parse_lsb_release("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\n").id() == "ubuntu1804");
  CHECK(parse_lsb_release("junk\n").id() == "unknown");
}

TEST_CASE("read_os_id: os-release if non-empty, then redhat-release, then lsb-release") {
  pilot::TempDir root;
  auto etc = root.path() / "etc";
  std::filesystem::create_directories(etc);
  CHECK(read_os_id(root.path(), std::nullopt).raw == "unknown");
  pilot::write_file_atomic(etc / "lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\n");
  CHECK(read_os_id(root.path(), std::nullopt).raw == "ubuntu1604");
  pilot::write_file_atomic(etc / "redhat-release", "CentOS Linux release 7.9.2009 (Core)\n");
  CHECK(read_os_id(root.path(), std::nullopt).raw == "centos7");
  pilot::write_file_atomic(etc / "os-release", "");
  auto id = read_os_id(root.path(), std::nullopt);
  CHECK(id.raw == "centos7");
  CHECK(id.source == "/etc/redhat-release");
  pilot::write_file_atomic(etc / "os-release", "ID=rocky\nID_LIKE=\"rhel\"\nVERSION_ID=9.4\n");
  CHECK(read_os_id(root.path(), std::nullopt).raw == "rocky9");
  auto forced = read_os_id(root.path(), std::string("whatever-1"));
  CHECK(forced.raw == "whatever-1");
  CHECK(forced.source == "force_host_os");
}

TEST_CASE("an unreadable os-release gives 'unknown' and a warning naming it") {
  pilot::TempDir root;
  std::filesystem::create_directories(root.path() / "etc/os-release");  // a directory: EISDIR
  pilot::write_file_atomic(root.path() / "etc/redhat-release", "CentOS Linux release 7\n");
  auto id = read_os_id(root.path(), std::nullopt);
  CHECK(id.raw == "unknown");
  REQUIRE(id.warnings.size() == 1);
  CHECK_THAT(id.warnings[0], Catch::Contains("os-release"));
}

TEST_CASE("normal_name maps aliases to their reference OS") {
  CHECK(normal_name("almalinux9", os_aliases()) == "el9");
  CHECK(normal_name("rocky9", os_aliases()) == "el9");
  CHECK(normal_name("rhel8", os_aliases()) == "centos8");
  CHECK(normal_name("scientific7", os_aliases()) == "centos7");
  CHECK(normal_name("centos6", os_aliases()) == "slc6");
  CHECK(normal_name("ubuntu1904", os_aliases()) == "ubuntu1904");
  CHECK(normal_name("centos9", os_aliases()) == "centos9");
  CHECK(normal_name("centos9", os_aliases(), "unknown") == "unknown");
  CHECK(normal_name("almalinux8", os_aliases(), "unknown") == "unknown");
  Aliases a = {{"a", {"1", "2", "3"}}, {"b", {}}};
  CHECK(normal_name("2", a) == "a");
  CHECK(normal_name("b", a) == "b");
  CHECK(normal_name("c", a) == "c");
}

TEST_CASE("check_compatibility is transitive, '!' forbids, 'any' runs everything") {
  CompatibilityMap m = {{"new", {"old", "!too_old"}}, {"old", {"older", "too_old"}}};
  CHECK(check_compatibility("new", "old", m));
  CHECK(check_compatibility("new", "older", m));
  CHECK_FALSE(check_compatibility("new", "too_old", m));
  CHECK(check_compatibility("any", "something", m));
  CHECK_FALSE(check_compatibility("something", "any", m));
  CHECK(check_compatibility("stuff", "stuff", m));
  CHECK(check_compatibility("slc6", "slc5", os_compatibility()));
  CHECK(check_compatibility("slc6", "slc4", os_compatibility()));
  CHECK_FALSE(check_compatibility("centos7", "slc6", os_compatibility()));
  CHECK_FALSE(check_compatibility("el9", "centos7", os_compatibility()));
  CompatibilityMap cycle = {{"a", {"b"}}, {"b", {"a"}}};
  CHECK_FALSE(check_compatibility("a", "c", cycle));  // no endless recursion
  CHECK(check_compatibility("a", "b", cycle));
}
