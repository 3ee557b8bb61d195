include $(sort $(wildcard $(BR2_EXTERNAL_SWARMBOX_PATH)/package/*/*.mk))
