package io.inferencepam.pam.record.spool;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded queue from plugin threads to the audit writer, with no lock at either end. The
 * writer runs at the lowest priority: a lock it held when a request thread preempted it would
 * make the next submitting plugin thread wait for it ({@code ArrayBlockingQueue} takes one lock
 * for both ends). {@code size} counts reserved places, so the bound holds under races.
 */
final class LockFreeBoundedQueue<T> {
    private final ConcurrentLinkedQueue<T> items = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;

    LockFreeBoundedQueue(int capacity) {
        this.capacity = capacity;
    }

    /** False when full. */
    boolean offer(T item) {
        if (size.incrementAndGet() > capacity) {
            size.decrementAndGet();
            return false;
        }
        try {
            items.add(item);
        } catch (Error e) { // an OutOfMemoryError for the node: give the place back, or close() would wait for it
            size.decrementAndGet();
            throw e;
        }
        return true;
    }

    /**
     * Moves up to {@code max} items, in order, to {@code to}. A place reserved by an offer still
     * under way is left for the next call. For one consumer at a time.
     */
    int drainTo(List<T> to, int max) {
        int n = 0;
        T item;
        while (n < max && (item = items.poll()) != null) {
            to.add(item);
            n++;
        }
        size.addAndGet(-n);
        return n;
    }

    /**
     * Takes this very {@code item} back unless a consumer already has it. By identity: a record
     * equal to another caller's must not take that one's place. ({@code ConcurrentLinkedQueue.remove}
     * calls the argument's {@code equals} and clears the node by CAS, so a poll and this never both get it.)
     */
    boolean remove(T item) {
        if (items.remove(new SameInstance(item))) {
            size.decrementAndGet();
            return true;
        }
        return false;
    }

    private record SameInstance(Object target) {
        @Override
        public boolean equals(Object other) {
            return other == target;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(target);
        }
    }

    /** Places taken, including offers still under way. */
    int size() {
        return size.get();
    }
}
