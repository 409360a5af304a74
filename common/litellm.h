/* A LiteLLM proxy config (YAML, read with libyaml) turned into the import
 * document of common/import.h (docs/migrate.md, "From LiteLLM"): each
 * model_list entry is a deployment; deployments of one provider type,
 * api_base (and Vertex project and location) share a provider group; each
 * model_name is bound, in one namespace, to the upstream models of its
 * deployments. What ezapi has no place for becomes a warning. */
#ifndef EZ_LITELLM_H
#define EZ_LITELLM_H

#include <jansson.h>
#include <stddef.h>

#include "import.h"

#define EZ_LITELLM_MAX_NODES 1000000 /* YAML nodes read, aliases counted each time */
#define EZ_LITELLM_MAX_DEPTH 64
#define EZ_LITELLM_MAX_FILE (64 * 1024 * 1024) /* bytes of a config read by ezapi import */

enum {
    EZ_LITELLM_OK = 0,
    EZ_LITELLM_BAD = 1, /* not YAML, or not a LiteLLM config: res path and message */
    EZ_LITELLM_ENV = 2, /* an os.environ/ reference that may not or cannot be resolved */
};

/* resolve_env: 1 takes os.environ/NAME from this process's environment (a
 * missing one is EZ_LITELLM_ENV), 0 refuses every such reference
 * (EZ_LITELLM_ENV naming the entry). ns: the namespace of the bindings.
 * *doc: the import document (new reference), whose "warnings" list what
 * is not imported. */
int ez_litellm_document(const char *yaml, size_t len, const char *ns, int resolve_env,
                        json_t **doc, struct ez_import_result *res)
    __attribute__((warn_unused_result));

/* Converts yaml and imports it (include_bindings forced, audit action
 * import.litellm): ez_import_newapi's results, EZ_IMPORT_BAD_DOC for a
 * file that is not a LiteLLM config, or EZ_IMPORT_ENV for a refused or
 * missing os.environ/ reference (res->path names the entry). */
enum { EZ_IMPORT_ENV = 10 };
int ez_import_litellm(struct ez_db *db, const struct ez_config *cfg, const char *yaml,
                      size_t len, const char *ns, int resolve_env,
                      const struct ez_import_opts *opts, const struct ez_import_actor *who,
                      struct ez_import_result *res) __attribute__((warn_unused_result));

#endif
