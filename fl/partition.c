/*
 * fl/partition.c — splitting one dataset among simulated clients: IID,
 * Dirichlet(alpha) label skew, K labels per client (shards), and label
 * subsets for profiles.
 *
 * Every partition is a pure function of (dataset labels, arguments, seed):
 * the rng is used in a fixed order, ties are broken by index, and each
 * client's index list is in ascending order.
 */
#include "fl/fl.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Marks a sample that no client holds (labels:K with fewer shards than
 * labels). */
#define UNOWNED UINT32_MAX

static void shuffle(uint32_t *v, size_t n, fl_rng *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = fl_rng_below(rng, (uint32_t)i);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Shared argument checks; also rejects labels the dataset's own n_classes
 * does not allow, since the per-class tables are indexed by them. */
static int check_args(const fl_dataset *d, uint32_t clients)
{
	if (clients == 0 || d->n == 0 || d->n > UINT32_MAX || clients > d->n)
		return FL_EINVAL;
	if (d->n_classes == 0 || d->n_classes > FL_MAX_CLASSES)
		return FL_EINVAL;
	for (size_t i = 0; i < d->n; i++) {
		if (d->y[i] >= d->n_classes)
			return FL_EINVAL;
	}
	return FL_OK;
}

/* The indices of each class, grouped by class in ascending order:
 * class c's are (*by_class)[start[c] .. start[c+1]). */
static int group_by_class(uint32_t **by_class, size_t start[FL_MAX_CLASSES + 1],
			  const fl_dataset *d)
{
	size_t fill[FL_MAX_CLASSES];

	memset(start, 0, (FL_MAX_CLASSES + 1) * sizeof(*start));
	for (size_t i = 0; i < d->n; i++)
		start[d->y[i] + 1]++;
	for (uint32_t c = 0; c < FL_MAX_CLASSES; c++)
		start[c + 1] += start[c];
	*by_class = fl_malloc(d->n * sizeof(**by_class));
	if (*by_class == NULL)
		return FL_ENOMEM;
	memcpy(fill, start, sizeof(fill));
	for (size_t i = 0; i < d->n; i++)
		(*by_class)[fill[d->y[i]]++] = (uint32_t)i;
	return FL_OK;
}

/* Index lists from owner[i] (a client, or UNOWNED), ascending by
 * construction. Each list has room for at least one entry, which the
 * Dirichlet fix-up relies on. */
static int lists_from_owner(fl_partition *p, const uint32_t *owner, size_t n, uint32_t clients)
{
	p->n_clients = clients;
	p->idx = fl_calloc(clients, sizeof(*p->idx));
	p->n = fl_calloc(clients, sizeof(*p->n));
	if (p->idx == NULL || p->n == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (owner[i] != UNOWNED)
			p->n[owner[i]]++;
	}
	for (uint32_t j = 0; j < clients; j++) {
		p->idx[j] = fl_malloc((p->n[j] > 0 ? p->n[j] : 1) * sizeof(**p->idx));
		if (p->idx[j] == NULL)
			return FL_ENOMEM;
		p->n[j] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (owner[i] != UNOWNED)
			p->idx[owner[i]][p->n[owner[i]]++] = (uint32_t)i;
	}
	return FL_OK;
}

int fl_partition_iid(fl_partition *p, const fl_dataset *d, uint32_t clients, uint64_t seed)
{
	uint32_t *perm = NULL, *owner = NULL;
	size_t at = 0;
	fl_rng rng;
	int rc;

	assert(p != NULL && d != NULL);
	memset(p, 0, sizeof(*p));
	if ((rc = check_args(d, clients)) != FL_OK)
		return rc;
	perm = fl_malloc(d->n * sizeof(*perm));
	owner = fl_malloc(d->n * sizeof(*owner));
	if (perm == NULL || owner == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < d->n; i++)
		perm[i] = (uint32_t)i;
	fl_rng_seed(&rng, seed);
	shuffle(perm, d->n, &rng);
	/* Sizes differ by at most one: the first n mod clients get the extra. */
	for (uint32_t j = 0; j < clients; j++) {
		size_t size = d->n / clients + (j < d->n % clients);
		for (size_t k = 0; k < size; k++)
			owner[perm[at++]] = j;
	}
	rc = lists_from_owner(p, owner, d->n, clients);

cleanup:
	fl_free(perm);
	fl_free(owner);
	if (rc != FL_OK)
		fl_partition_free(p);
	return rc;
}

/* Client a before b: more samples, then the lower index. */
static int heavier(const size_t *count, uint32_t a, uint32_t b)
{
	return count[a] != count[b] ? count[a] > count[b] : a < b;
}

static void sift_down(uint32_t *heap, size_t n, size_t at, const size_t *count)
{
	for (;;) {
		size_t l = 2 * at + 1, r = l + 1, top = at;
		uint32_t t;

		if (l < n && heavier(count, heap[l], heap[top]))
			top = l;
		if (r < n && heavier(count, heap[r], heap[top]))
			top = r;
		if (top == at)
			return;
		t = heap[at];
		heap[at] = heap[top];
		heap[top] = t;
		at = top;
	}
}

/*
 * Every client gets at least one sample: each empty client, in index order,
 * takes the highest-index sample of the client that then holds the most
 * (a max-heap, so it stays O(n log clients) for any number of clients).
 * n >= clients guarantees that client holds two or more.
 */
static int fill_empty_clients(fl_partition *p)
{
	uint32_t *heap;
	size_t n_heap = 0;

	heap = fl_malloc(p->n_clients * sizeof(*heap));
	if (heap == NULL)
		return FL_ENOMEM;
	for (uint32_t j = 0; j < p->n_clients; j++) {
		if (p->n[j] > 0)
			heap[n_heap++] = j;
	}
	for (size_t i = n_heap / 2; i-- > 0;)
		sift_down(heap, n_heap, i, p->n);
	for (uint32_t j = 0; j < p->n_clients; j++) {
		uint32_t donor = heap[0];

		if (p->n[j] > 0)
			continue;
		assert(n_heap > 0 && p->n[donor] >= 2);
		p->idx[j][0] = p->idx[donor][--p->n[donor]];
		p->n[j] = 1;
		sift_down(heap, n_heap, 0, p->n);
	}
	fl_free(heap);
	return FL_OK;
}

/* Splits class members seg[0..count) among clients in proportions drawn
 * from Dirichlet(alpha): cut points at the rounded-down cumulative shares. */
static void deal_class(uint32_t *owner, const uint32_t *seg, size_t count, uint32_t clients,
		       double alpha, double *share, fl_rng *rng)
{
	double sum = 0.0, cum = 0.0;
	size_t from = 0;

	for (uint32_t j = 0; j < clients; j++) {
		share[j] = fl_rng_gamma(rng, alpha);
		sum += share[j];
	}
	if (!(sum > 0.0) || !isfinite(sum)) {
		/* Every Gamma draw underflowed (tiny alpha): the limit of the
		 * distribution, all of the class to one client. */
		uint32_t j = fl_rng_below(rng, clients);
		for (size_t i = 0; i < count; i++)
			owner[seg[i]] = j;
		return;
	}
	for (uint32_t j = 0; j < clients; j++) {
		size_t to;

		cum += share[j];
		to = j + 1 == clients ? count : (size_t)floor((double)count * (cum / sum));
		if (to > count)
			to = count;
		for (; from < to; from++)
			owner[seg[from]] = j;
	}
}

int fl_partition_dirichlet(fl_partition *p, const fl_dataset *d, uint32_t clients, double alpha,
			   uint64_t seed)
{
	size_t start[FL_MAX_CLASSES + 1];
	uint32_t *by_class = NULL, *owner = NULL;
	double *share = NULL;
	fl_rng rng;
	int rc;

	assert(p != NULL && d != NULL);
	memset(p, 0, sizeof(*p));
	if (!(alpha > 0.0) || !isfinite(alpha))
		return FL_EINVAL;
	if ((rc = check_args(d, clients)) != FL_OK)
		return rc;
	owner = fl_malloc(d->n * sizeof(*owner));
	share = fl_malloc(clients * sizeof(*share));
	if (owner == NULL || share == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = group_by_class(&by_class, start, d)) != FL_OK)
		goto cleanup;
	fl_rng_seed(&rng, seed);
	for (uint32_t c = 0; c < d->n_classes; c++) {
		size_t count = start[c + 1] - start[c];

		if (count == 0)
			continue;
		shuffle(by_class + start[c], count, &rng);
		deal_class(owner, by_class + start[c], count, clients, alpha, share, &rng);
	}
	if ((rc = lists_from_owner(p, owner, d->n, clients)) != FL_OK)
		goto cleanup;
	rc = fill_empty_clients(p);

cleanup:
	fl_free(by_class);
	fl_free(owner);
	fl_free(share);
	if (rc != FL_OK)
		fl_partition_free(p);
	return rc;
}

/*
 * How many shards each class is cut into, S in all, by the D'Hondt rule
 * (repeatedly to the class with the most samples per shard, ties to the
 * earlier class in `order`), so shards are as even as the classes allow.
 * A class gets at most `cap` shards when the classes can take S that way,
 * which is what lets every client hold distinct labels; at most its sample
 * count otherwise. With fewer shards than classes, the first S classes in
 * `order` get one each.
 */
static void count_shards(size_t *shards, const size_t *count, const uint32_t *order,
			 uint32_t n_order, uint64_t total, uint64_t cap)
{
	uint64_t limit[FL_MAX_CLASSES], room = 0, given = 0;

	memset(shards, 0, FL_MAX_CLASSES * sizeof(*shards));
	for (uint32_t i = 0; i < n_order; i++)
		room += count[order[i]] < cap ? count[order[i]] : cap;
	for (uint32_t i = 0; i < n_order; i++) {
		uint32_t c = order[i];
		limit[c] = room >= total && count[c] > cap ? cap : count[c];
	}
	for (uint32_t i = 0; i < n_order && given < total; i++, given++)
		shards[order[i]] = 1;
	for (; given < total; given++) {
		uint32_t best = UINT32_MAX;

		for (uint32_t i = 0; i < n_order; i++) {
			uint32_t c = order[i];
			/* count[c]/shards[c] > count[best]/shards[best], in
			 * integers: both sides fit 64 bits. */
			if (shards[c] < limit[c] &&
			    (best == UINT32_MAX ||
			     (uint64_t)count[c] * shards[best] > (uint64_t)count[best] * shards[c]))
				best = c;
		}
		assert(best != UINT32_MAX);
		shards[best]++;
	}
}

int fl_partition_labels(fl_partition *p, const fl_dataset *d, uint32_t clients, uint32_t k,
			uint64_t seed)
{
	size_t start[FL_MAX_CLASSES + 1], count[FL_MAX_CLASSES], shards[FL_MAX_CLASSES];
	uint32_t order[FL_MAX_CLASSES], n_order = 0;
	uint32_t *by_class = NULL, *owner = NULL, *slot = NULL;
	uint64_t total;
	size_t position = 0;
	fl_rng rng;
	int rc;

	assert(p != NULL && d != NULL);
	memset(p, 0, sizeof(*p));
	if ((rc = check_args(d, clients)) != FL_OK)
		return rc;
	total = (uint64_t)clients * k;
	if (k == 0 || total > d->n)
		return FL_EINVAL;
	owner = fl_malloc(d->n * sizeof(*owner));
	slot = fl_malloc(clients * sizeof(*slot));
	if (owner == NULL || slot == NULL) {
		rc = FL_ENOMEM;
		goto cleanup;
	}
	if ((rc = group_by_class(&by_class, start, d)) != FL_OK)
		goto cleanup;
	fl_rng_seed(&rng, seed);
	for (uint32_t c = 0; c < d->n_classes; c++) {
		count[c] = start[c + 1] - start[c];
		if (count[c] > 0)
			order[n_order++] = c;
	}
	shuffle(order, n_order, &rng);
	for (uint32_t j = 0; j < clients; j++)
		slot[j] = j;
	shuffle(slot, clients, &rng);
	count_shards(shards, count, order, n_order, total, clients);

	/*
	 * Shards are laid out class after class in `order`, and the shard at
	 * position q goes to client slot[q mod clients]: a client's k shards
	 * are `clients` positions apart, so they come from distinct classes
	 * whenever no class has more shards than there are clients.
	 */
	for (size_t i = 0; i < d->n; i++)
		owner[i] = UNOWNED;
	for (uint32_t i = 0; i < n_order; i++) {
		uint32_t c = order[i];
		uint32_t *seg = by_class + start[c];

		if (shards[c] == 0)
			continue;
		shuffle(seg, count[c], &rng);
		for (size_t s = 0; s < shards[c]; s++, position++) {
			size_t from = s * count[c] / shards[c];
			size_t to = (s + 1) * count[c] / shards[c];
			for (size_t m = from; m < to; m++)
				owner[seg[m]] = slot[position % clients];
		}
	}
	assert(position == total);
	rc = lists_from_owner(p, owner, d->n, clients);

cleanup:
	fl_free(by_class);
	fl_free(owner);
	fl_free(slot);
	if (rc != FL_OK)
		fl_partition_free(p);
	return rc;
}

int fl_select_labels(uint32_t **idx, size_t *n, const fl_dataset *d, const uint16_t *labels,
		     size_t n_labels)
{
	uint8_t wanted[FL_MAX_CLASSES] = {0};
	size_t found = 0;
	uint32_t *out;

	assert(idx != NULL && n != NULL && d != NULL && (labels != NULL || n_labels == 0));
	*idx = NULL;
	*n = 0;
	if (d->n > UINT32_MAX || d->n_classes > FL_MAX_CLASSES)
		return FL_EINVAL;
	for (size_t i = 0; i < n_labels; i++) {
		if (labels[i] >= d->n_classes)
			return FL_EINVAL;
		wanted[labels[i]] = 1;
	}
	for (size_t i = 0; i < d->n; i++)
		found += d->y[i] < FL_MAX_CLASSES && wanted[d->y[i]];
	out = fl_malloc((found > 0 ? found : 1) * sizeof(*out));
	if (out == NULL)
		return FL_ENOMEM;
	found = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (d->y[i] < FL_MAX_CLASSES && wanted[d->y[i]])
			out[found++] = (uint32_t)i;
	}
	*idx = out;
	*n = found;
	return FL_OK;
}

void fl_partition_free(fl_partition *p)
{
	if (p == NULL)
		return;
	if (p->idx != NULL) {
		for (uint32_t j = 0; j < p->n_clients; j++)
			fl_free(p->idx[j]);
	}
	fl_free(p->idx);
	fl_free(p->n);
	memset(p, 0, sizeof(*p));
}
