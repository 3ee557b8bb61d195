################################################################################
#
# swarmbox
#
################################################################################

# Built from this checkout (the tree sits at buildroot/ inside the project).
SWARMBOX_VERSION = local
SWARMBOX_SITE = $(BR2_EXTERNAL_SWARMBOX_PATH)/..
SWARMBOX_SITE_METHOD = local
SWARMBOX_LICENSE = Proprietary
SWARMBOX_GOMOD = swarmbox
SWARMBOX_BUILD_TARGETS = cmd/swarmboxd
SWARMBOX_INSTALL_BINS = swarmboxd
SWARMBOX_LDFLAGS = -s -w
# Pure Go, like `make image`: no cgo, so one binary per architecture and no libc coupling.
SWARMBOX_GO_ENV = CGO_ENABLED=0
SWARMBOX_DEPENDENCIES = dbus

$(eval $(golang-package))
