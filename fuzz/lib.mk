# Builds the tree's code (everything but main()) once, instrumented for
# libFuzzer with ASan and UBSan, as one archive that every target links:
# a target pulls in only the objects it reaches. Called by fuzz/run.sh:
#   make -f fuzz/lib.mk TOP=<tree> OUT=<dir> CC=<clang> PKG_CFLAGS=<...> VERSION=<x.y.z>
# Header dependencies are tracked (-MMD), so a second run rebuilds only
# what changed.
SRCS := $(filter-out master/main.c,$(sort $(patsubst $(TOP)/%,%,$(wildcard \
	$(TOP)/common/*.c $(TOP)/proto/*.c $(TOP)/master/*.c $(TOP)/worker/*.c \
	$(TOP)/syncer/*.c $(TOP)/logger/*.c))))
# an in-tree build may have left its generated copy: ours is in OUT
SRCS := $(filter-out common/migrations_sql.c,$(SRCS))
OBJS := $(addprefix $(OUT)/obj/,$(SRCS:.c=.o)) $(OUT)/obj/migrations_sql.o
CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-I$(TOP) -iquote $(TOP)/common -DSYSCONFDIR='"/etc"' \
	-DPACKAGE_VERSION='"$(VERSION)"' $(PKG_CFLAGS)

$(OUT)/libezapi-fuzz.a: $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(OUT)/obj/%.o: $(TOP)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/migrations_sql.c: $(wildcard $(TOP)/migrations/*.sql) $(TOP)/scripts/embed-sql.sh
	sh $(TOP)/scripts/embed-sql.sh $(wildcard $(TOP)/migrations/*.sql) > $@.tmp && mv $@.tmp $@

$(OUT)/obj/migrations_sql.o: $(OUT)/migrations_sql.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

-include $(OBJS:.o=.d)
