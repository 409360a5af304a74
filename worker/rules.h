/* The rules of the API's input that the validators (validate*.c,
 * paging.c) enforce and /openapi.json states (openapi.c), each declared
 * once here: both sides quote these names, never the values. Declarations
 * only: the checks themselves stay in the validators. */
#ifndef EZ_RULES_H
#define EZ_RULES_H

/* ---- Names: regular expressions without anchors, as the document's
 * patterns (anchored) and the validators' messages quote them ---------- */

/* namespaces, and every field naming one */
#define EZ_NAMESPACE_NAME "[a-z0-9][a-z0-9_-]{0,63}"
/* provider groups, and a master's group */
#define EZ_GROUP_NAME "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
/* feature switches */
#define EZ_FEATURE_NAME "[a-z0-9_]{1,64}"
/* Registry models, public models, selector values (check_name() in
 * validate_catalog.c): no control character anywhere, no white space at
 * either end. */
#define EZ_CLEAN_NAME \
    "[^\\s\\x00-\\x1f\\x7f](?:[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f])?"
/* an entry of a child key's model_limits: the Redis contract joins them
 * with commas */
#define EZ_MODEL_LIMIT "[^,]+"

/* ---- String lengths, in bytes of UTF-8 -------------------------------- */

#define EZ_MAX_NAME 64          /* names; the patterns above agree */
#define EZ_MAX_DESCRIPTION 1024 /* descriptions, ban reasons */
#define EZ_MAX_URL 2048
#define EZ_MAX_MODEL_NAME 256   /* a model of a provider group */
#define EZ_MAX_API_KEY 4096
#define EZ_MAX_GOOGLE_PROJECT 128
#define EZ_MAX_GOOGLE_LOCATION 64
#define EZ_MAX_REGISTRY_NAME 128
#define EZ_MAX_PUBLIC_MODEL 256
#define EZ_MAX_SELECTOR 256
#define EZ_MAX_FEATURE_NAME 64
#define EZ_MAX_FEATURE_VALUE 1024
#define EZ_TENANT_MAX_MODEL 256  /* a model name in model_limits */
#define EZ_TENANT_MAX_CIDR 64    /* an entry of allow_ips */
#define EZ_EXPLAIN_MAX_TOKEN 4096 /* a token is a secret: never logged */
#define EZ_EXPLAIN_MAX_MODEL 512  /* "<namespace>.<public model>" */

/* ---- List sizes ------------------------------------------------------- */

#define EZ_MAX_MODELS 1000          /* models of a provider group (at least 1) */
#define EZ_MAX_FEATURES_PER_PUT 1000
#define EZ_TENANT_MAX_LIST 1000     /* namespaces, model_limits */
#define EZ_TENANT_MAX_IPS 256       /* allow_ips */

/* ---- Numbers ---------------------------------------------------------- */

#define EZ_MAX_JSON_INT 9007199254740991LL /* 2^53 - 1: exact in any JSON parser */
#define EZ_MAX_KEY_WEIGHT 1000             /* an api key's weight, from 0 */
#define EZ_MAX_BINDING_WEIGHT 1000         /* a binding's weight, from 0 */
#define EZ_MAX_CHILD_KEYS 1000000          /* a master's max_child_keys, 0 = unlimited */
#define EZ_MAX_GLOBAL_QPS 1000000000       /* a master's global_qps, 0 = unlimited */
#define EZ_TENANT_MAX_GRACE 86400          /* rotation grace, seconds */
#define EZ_PAGE_MAX_LIMIT 200              /* ?limit=, from 1 */
#define EZ_PAGE_DEFAULT_LIMIT 50

/* ---- Values: initialisers of NULL-terminated lists -------------------- */

#define EZ_PROVIDER_TYPES                                                                 \
    { "openai", "compatible", "anthropic", "claude", "claude-code", "codex", "gemini-cli", \
      "antigravity", "gemini", "google", "aistudio", "vertex", "vertex-express", NULL }
#define EZ_PRESETS { "openai", "anthropic", "gemini", NULL }
#define EZ_NAMESPACE_STATUSES { "active", "suspended", NULL }
#define EZ_GROUP_STATUSES { "active", "disabled", NULL }
#define EZ_API_KEY_STATUSES { "active", "auto_disabled", "manual_disabled", NULL }
#define EZ_MODEL_KINDS { "chat", "embedding", "rerank", "other", NULL }
#define EZ_SELECTOR_TYPES { "exact", "regex", "normalize_exact", NULL }
#define EZ_BINDING_STATUSES { "active", "disabled", NULL }
#define EZ_MASTER_STATUSES { "active", "suspended", NULL }
#define EZ_KEY_SET_STATUSES { "active", "suspended", NULL } /* what a child key can be set to */
#define EZ_PROPAGATIONS { "none", "restrict", "all", NULL }

#endif
