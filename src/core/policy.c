/* policy.c - the table of slot policies, by name. Freestanding. */
#include "policy.h"
#include "util.h"

static const struct km_policy *const policies[] = {
	&km__policy_linux, &km__policy_lockfree, &km__policy_clock,
	&km__policy_tinylfu,
};

#define NR_POLICIES (sizeof(policies) / sizeof(policies[0]))

const struct km_policy *km__policy_find(const char *name)
{
	for (unsigned i = 0; name && i < NR_POLICIES; i++)
		if (km__streq(policies[i]->name, name))
			return policies[i];
	return NULL;
}

const struct km_policy *km__policy_at(unsigned i)
{
	return i < NR_POLICIES ? policies[i] : NULL;
}
