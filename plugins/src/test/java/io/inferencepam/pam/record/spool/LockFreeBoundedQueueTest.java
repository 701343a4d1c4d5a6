package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LockFreeBoundedQueueTest {
    @Test
    void holdsItsBoundAndLosesNothingUnderConcurrentProducers() throws Exception {
        int producers = 4;
        int each = 50_000;
        int capacity = 64;
        LockFreeBoundedQueue<long[]> q = new LockFreeBoundedQueue<>(capacity);
        AtomicInteger refused = new AtomicInteger();
        AtomicBoolean overBound = new AtomicBoolean();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            long id = p;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (long i = 0; i < each; i++) {
                    if (!q.offer(new long[] {id, i})) {
                        refused.incrementAndGet();
                    }
                    if (q.size() > capacity + producers) { // a racing offer holds a place for an instant at most
                        overBound.set(true);
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        long[] next = new long[producers];
        long taken = 0;
        go.countDown();
        List<long[]> batch = new ArrayList<>();
        boolean inOrder = true;
        while (threads.stream().anyMatch(Thread::isAlive) || q.size() > 0) {
            batch.clear();
            q.drainTo(batch, 16);
            assertThat(batch.size()).isLessThanOrEqualTo(16);
            for (long[] item : batch) {
                inOrder &= item[1] >= next[(int) item[0]]; // per producer, in the order offered
                next[(int) item[0]] = item[1] + 1;
            }
            taken += batch.size();
        }
        assertThat(inOrder).isTrue();
        assertThat(overBound).isFalse();
        assertThat(taken + refused.get()).as("every offer is either taken or refused").isEqualTo((long) producers * each);
        assertThat(refused.get()).as("the bound was reached at least once").isPositive();
        assertThat(q.size()).isZero();
    }

    @Test
    void refusesPastItsCapacityAndMakesRoomAsItIsDrained() {
        LockFreeBoundedQueue<String> q = new LockFreeBoundedQueue<>(2);
        assertThat(q.offer("a")).isTrue();
        assertThat(q.offer("b")).isTrue();
        assertThat(q.offer("c")).isFalse();
        assertThat(q.size()).isEqualTo(2);
        List<String> out = new ArrayList<>();
        assertThat(q.drainTo(out, 1)).isEqualTo(1);
        assertThat(q.offer("d")).isTrue();
        assertThat(q.drainTo(out, 10)).isEqualTo(2);
        assertThat(out).containsExactly("a", "b", "d");
        assertThat(q.size()).isZero();
    }

    @Test
    void anItemIsTakenBackOnceAndOnlyIfNoConsumerHasIt() {
        LockFreeBoundedQueue<String> q = new LockFreeBoundedQueue<>(2);
        String a = new String("a");
        String b = new String("b");
        assertThat(q.offer(a)).isTrue();
        assertThat(q.offer(b)).isTrue();
        assertThat(q.remove(b)).isTrue();
        assertThat(q.remove(b)).isFalse();
        assertThat(q.size()).isEqualTo(1);
        List<String> drained = new ArrayList<>();
        q.drainTo(drained, 10);
        assertThat(drained).containsExactly(a);
        assertThat(q.remove(a)).as("the consumer has it").isFalse();
        assertThat(q.size()).isZero();
    }

    @Test
    void removeTakesThatInstanceNotAnEqualOne() {
        LockFreeBoundedQueue<String> q = new LockFreeBoundedQueue<>(2);
        String first = new String("same");
        String second = new String("same");
        q.offer(first);
        q.offer(second);
        assertThat(q.remove(second)).isTrue();
        List<String> drained = new ArrayList<>();
        q.drainTo(drained, 10);
        assertThat(drained).hasSize(1);
        assertThat(drained.get(0)).isSameAs(first);
    }
}
