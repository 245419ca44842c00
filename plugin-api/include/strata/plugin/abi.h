/* strata plugin ABI: the only C-linkage contract between stratad and a plugin shared object.
 *
 * A plugin exports exactly one entry, STRATA_PLUGIN_ENTRY_NAME ("strata_plugin_v2"), whose name
 * carries the ABI major so that a host for another major never even finds it. The entry returns a
 * pointer to a constant descriptor and must do nothing else. A plugin built with the SDK macro also
 * exports a data symbol named "strata_toolchain_<tag>" so the host can compare toolchains by
 * reading the symbol table, without loading the file.
 *
 * Version policy: abi_major must equal the host's, abi_minor must be <= the host's, and the
 * toolchain tag must equal the host's. Fields are only ever appended; struct_size tells the host
 * which ones a plugin knows.
 *
 * The C++ side is ABI too: the vtables of the interfaces and the layouts of the structs and enums
 * in strata/plugin/ cross the boundary. A minor may only append virtual functions at the end of an
 * interface the host implements (InitContext, Registrar), with a default body, and append fields
 * to this descriptor. Anything else is a major: a field added anywhere in a struct that one plugin
 * builds and another reads (ApplyOptions, Mount, ...), since the reader's copy has the old size; a
 * virtual added to an interface plugins implement; a reordered or retyped member; an inserted
 * enumerator, and an appended one too (an older reader cannot name it). (ApplyOptions::progress
 * went in with minor 1 and was such a change; 2.0 is the major it should have been.)
 * plugin-api/abi-layout.txt records the description at the current version and the abi-layout
 * test fails when the headers change without a bump (scripts/abi_layout.py says how to record).
 *
 * OWNERSHIP: every pointer in the descriptor points to storage with static duration inside the
 * plugin; the host never frees any of it. */
#ifndef STRATA_PLUGIN_ABI_H
#define STRATA_PLUGIN_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Incompatible changes bump the major; the entry symbol name changes with it.
 * 2: the apply contract in the SDK: ApplyOptions::target (ApplyTarget), a field in a struct the
 *    images service builds and differs read, and Code::NeedsParent, an enumerator a differ
 *    returns and images reads. A major, not a minor: a 1.x differ would read a 2.0 ApplyOptions
 *    at the old layout and never see the target, writing a parentless upperdir as a plain
 *    directory (whiteouts lost). Plugins built for 1.x export strata_plugin_v1 and are refused
 *    by name before they load; rebuilding them against this SDK is the whole migration.
 *    2.0 also took out of the SDK what only the host uses: http_status (now in stratad's
 *    host/api/response.hpp), and later, at the same version, PluginRecord and PluginStatus
 *    (plugin_record.hpp, now host/record/plugin_record.hpp, in namespace strata::host). That
 *    move needs no bump: no plugin builds or reads a record, no interface takes one, and no
 *    layout a plugin shares with the host changed; libstrata-plugin.so only stopped defining
 *    to_string(PluginStatus) and the record's two JSON conversions, which stratad and the CLI
 *    called, never a plugin. plugin-api/abi-layout.txt was re-recorded at 2.0 without them. */
#define STRATA_PLUGIN_ABI_MAJOR 2
/** Compatible additions (appended descriptor fields, virtual functions appended to host-provided
 * interfaces, new types and functions in the SDK library) bump the minor; a new major starts
 * at 0. 1.1: InitContext::dependency_meta (kept in 2.0). 2.0 also added, as a minor would have:
 * InitContext::logger with the Logger interface and LogLevel it returns, and the walk filters
 * (filters.hpp: Filters, parse_snapshot_filters, parse_content_filters, parse_image_filters,
 * matches). */
#define STRATA_PLUGIN_ABI_MINOR 0

#define STRATA_PLUGIN_STR2(x) #x
#define STRATA_PLUGIN_STR(x) STRATA_PLUGIN_STR2(x)
#define STRATA_PLUGIN_CAT2(a, b) a##b
#define STRATA_PLUGIN_CAT(a, b) STRATA_PLUGIN_CAT2(a, b)

/** The entry function's identifier: strata_plugin_v<ABI major>. */
#define STRATA_PLUGIN_ENTRY STRATA_PLUGIN_CAT(strata_plugin_v, STRATA_PLUGIN_ABI_MAJOR)
/** The entry function's symbol name as a string. */
#define STRATA_PLUGIN_ENTRY_NAME STRATA_PLUGIN_STR(STRATA_PLUGIN_ENTRY)
/** Every entry of any ABI major starts with this prefix (used to explain a major mismatch). */
#define STRATA_PLUGIN_ENTRY_PREFIX "strata_plugin_v"
/** Prefix of the toolchain marker symbol a plugin exports next to its entry. */
#define STRATA_TOOLCHAIN_SYMBOL_PREFIX "strata_toolchain_"

/** Registration callback. `registrar` is a `strata::Registrar*` (C++). Returns 0 on success,
 *  non-zero when the plugin could not register; the host then reads nothing else from it. */
typedef int (*strata_plugin_register_fn)(void* registrar);

/** The constant descriptor returned by the entry. */
typedef struct strata_plugin_descriptor {
  uint32_t abi_major;   /**< STRATA_PLUGIN_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /**< STRATA_PLUGIN_ABI_MINOR the plugin was built with */
  uint32_t struct_size; /**< sizeof(strata_plugin_descriptor) as the plugin saw it */
  uint32_t reserved;    /**< zero */
  const char* toolchain; /**< toolchain tag, e.g. "gcc/libstdc++/cxx11/boost-1_81" */
  const char* type;      /**< plugin type, e.g. "strata.snapshotter.v1" */
  const char* id;        /**< plugin id, unique within its type */
  const char* version;   /**< the plugin's own version, free-form */
  const char* const* requires_list; /**< NULL-terminated list of "type.id" or "type.*" or "*" */
  strata_plugin_register_fn register_fn; /**< called once, after the handshake passed */
} strata_plugin_descriptor;

/** Signature of the entry. */
typedef const strata_plugin_descriptor* (*strata_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
