################################################################################
#
# hearthd
#
################################################################################

# The source is the checkout this br2-external tree lives in, so an image
# is built from the same commit as its recipe. SITE_METHOD = local skips
# the download step, and with it the Go infrastructure's vendoring (which
# runs at download time): see HEARTHD_VENDOR below.
HEARTHD_SITE = $(realpath $(BR2_EXTERNAL_HEARTH_PATH)/..)
HEARTHD_SITE_METHOD = local
# Not copied into the build directory: build outputs and this tree.
HEARTHD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /bin --exclude /bench/out --exclude /.demo \
	--exclude /buildroot

# A release tarball from buildroot/dist.sh carries a VERSION file; a git
# checkout is described like the top-level Makefile does (-X main.Version).
HEARTHD_VERSION = $(strip $(or \
	$(shell cat $(HEARTHD_SITE)/VERSION 2>/dev/null), \
	$(shell git -C $(HEARTHD_SITE) describe --always --dirty 2>/dev/null), \
	dev))

HEARTHD_LICENSE = Proprietary
HEARTHD_GOMOD = github.com/hearth-home/hearth
HEARTHD_BUILD_TARGETS = cmd/hearthd
HEARTHD_LDFLAGS = -s -w -X main.Version=$(HEARTHD_VERSION)
# migrated_fynedo: fyne's threading model outside `fyne build`;
# wayland: GLFW talks to cage instead of an X server;
# dynamic: link Buildroot's libopus, not mediadevices' prebuilt archive.
HEARTHD_TAGS = migrated_fynedo wayland dynamic

# cgo links these (pkg-config: vpx, opus, libturbojpeg; GLFW: wayland-*,
# xkbcommon, EGL; fyne: GLESv2). alsa-lib is dlopen()ed by miniaudio.
HEARTHD_DEPENDENCIES = \
	host-pkgconf \
	alsa-lib \
	jpeg \
	libegl \
	libgles \
	libvpx \
	libxkbcommon \
	opus \
	wayland

# Modules for the build: a vendor/ directory in the source (a dist
# tarball) is used as is. Otherwise they are vendored into the build
# directory, never into the checkout, from a module cache filled
# beforehand with `go mod download` (GOPROXY=off: no network here).
HEARTHD_GOMODCACHE ?= $(shell go env GOMODCACHE 2>/dev/null)

define HEARTHD_VENDOR
	if [ ! -f $(@D)/vendor/modules.txt ]; then \
		if [ ! -d "$(HEARTHD_GOMODCACHE)" ]; then \
			echo "hearthd: no vendor/ and no module cache; run" \
				"'go mod download' in $(HEARTHD_SITE) or set" \
				"HEARTHD_GOMODCACHE (see buildroot/README.md)" >&2; \
			exit 1; \
		fi; \
		cd $(@D) && $(HOST_GO_COMMON_ENV) GOFLAGS=-mod=mod \
			GOMODCACHE="$(HEARTHD_GOMODCACHE)" \
			$(GO_BIN) mod vendor; \
	fi
endef
HEARTHD_PRE_CONFIGURE_HOOKS += HEARTHD_VENDOR

# One uid for the unit's User= and the FAT mounts' uid= (post-build.sh).
# Home: hearthd's data on the data partition (kiosk.conf.in).
define HEARTHD_USERS
	hearth 990 hearth 990 * /data/hearthd - video,audio,render,input,seat Hearth device daemon
endef

HEARTHD_BUNDLE_PATH = $(call qstrip,$(BR2_PACKAGE_HEARTHD_BUNDLE_PATH))
HEARTHD_BUNDLE_DIRS = $(subst $(comma),$(space),$(HEARTHD_BUNDLE_PATH))

# The repository's unit as it is, and a drop-in for the image: hearthd
# runs as cage's only client, and may write where the bundle is.
define HEARTHD_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/cmd/hearthd/hearthd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/hearthd.service
	$(INSTALL) -D -m 0644 $(@D)/cmd/hearthd/hearthd-reboot.path \
		$(TARGET_DIR)/usr/lib/systemd/system/hearthd-reboot.path
	$(INSTALL) -D -m 0644 $(@D)/cmd/hearthd/hearthd-reboot.service \
		$(TARGET_DIR)/usr/lib/systemd/system/hearthd-reboot.service
	mkdir -p $(TARGET_DIR)/usr/lib/systemd/system/hearthd.service.d
	sed -e 's|@BUNDLE_PATH@|$(HEARTHD_BUNDLE_PATH)|g' \
		-e 's|@BUNDLE_RW@|$(patsubst %,-%,$(HEARTHD_BUNDLE_DIRS))|g' \
		$(HEARTHD_PKGDIR)/kiosk.conf.in \
		> $(TARGET_DIR)/usr/lib/systemd/system/hearthd.service.d/kiosk.conf
endef

$(eval $(golang-package))
