/* sensor: the table of process sensors, best first. */
#include "sensor.h"

#include <string.h>

const struct sensor_ops *const sensor_table[] = {
#ifdef YM_HAVE_BPF
    &sensor_bpf_ops,
#endif
    &sensor_netlink_ops,
    NULL,
};

const struct sensor_ops *sensor_find(const char *name)
{
	for (size_t i = 0; sensor_table[i]; i++)
		if (strcmp(sensor_table[i]->name, name) == 0)
			return sensor_table[i];
	return NULL;
}
