package io.inferencepam.bench.guard;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Two builds of the same benchmark class in one JVM, each in its own class loader, their methods
 * interleaved round by round in thread CPU time ({@link GuardCpuRatios#interleaved}): a before/after
 * on a shared host, where two separate runs minutes apart differ more than the change. Prints each
 * method of each build against the first method of either build.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.guard.SameRunAb \
 *     /tmp/bench-main.jar benchmarks/target/benchmarks.jar \
 *     io.inferencepam.pam.guard.GuardBodyDecideBench streamingParse decideEmpty decideParams decideParamsAndPrompts</pre>
 */
public final class SameRunAb {
    private SameRunAb() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: SameRunAb <classpath A> <classpath B> <benchmark class> <method>...");
            System.exit(2);
        }
        Object a = instance(args[0], args[2]);
        Object b = instance(args[1], args[2]);
        List<Callable<?>> ops = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            for (Object bench : new Object[]{a, b}) {
                Method m = bench.getClass().getMethod(args[i]);
                ops.add(() -> m.invoke(bench));
                names.add((bench == a ? "A " : "B ") + args[i]);
            }
        }
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double[] ns = GuardCpuRatios.interleaved(mx, bh, ops.toArray(new Callable<?>[0]));
        System.out.printf("thread CPU per call (median round); A = %s, B = %s%n", args[0], args[1]);
        for (int i = 0; i < ns.length; i++) {
            System.out.printf("  %-36s %9.2f µs  %6.2f× A's %s  %6.2f× B's%n", names.get(i), ns[i] / 1e3, ns[i] / ns[0], args[3],
                    ns[i] / ns[1]);
        }
        System.exit(0);
    }

    /** The benchmark class from its own loader (parent: the platform loader, so nothing is shared), set up. */
    private static Object instance(String classpath, String className) throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String p : classpath.split(java.io.File.pathSeparator)) {
            urls.add(Path.of(p).toUri().toURL());
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Object bench = loader.loadClass(className).getConstructor().newInstance();
        bench.getClass().getMethod("setUp").invoke(bench);
        return bench;
    }
}
