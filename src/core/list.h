/*
 * list.h - circular doubly linked lists, as the kernel's
 * include/linux/list.h: the wait queues, the page_address hash buckets,
 * the woken and task lists.
 */
#ifndef KMAP_LIST_H
#define KMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	INIT_LIST_HEAD(n);
}

#define km__container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#endif
