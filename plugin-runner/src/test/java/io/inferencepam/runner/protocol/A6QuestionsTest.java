package io.inferencepam.runner.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.api7.A6.ExtraInfo.Info;
import io.github.api7.A6.ExtraInfo.Req;
import io.github.api7.A6.ExtraInfo.Var;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

/** ExtraInfo questions as APISIX reads them off the wire (nginx var names), including the body questions built once and shared. */
class A6QuestionsTest {

    private static Req onTheWire(OutboundFrame frame) {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder());
        ch.writeOutbound(frame);
        ByteBuf out = ch.readOutbound();
        try {
            assertThat(out.readByte()).isEqualTo(RpcType.EXTRA_INFO);
            int length = out.readMedium();
            assertThat(out.readableBytes()).isEqualTo(length);
            byte[] payload = new byte[length];
            out.readBytes(payload);
            return Req.getRootAsReq(ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
        } finally {
            out.release();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void bodyQuestionsAskForTheBodyOfTheirPhaseEveryTime() {
        for (int i = 0; i < 3; i++) { // a shared frame consumed once must not come out empty the next time
            assertThat(onTheWire(A6Encoder.requestBodyQuestion()).infoType()).isEqualTo(Info.ReqBody);
            assertThat(onTheWire(A6Encoder.responseBodyQuestion()).infoType()).isEqualTo(Info.RespBody);
        }
    }

    @Test
    void aConsumedBodyQuestionLeavesTheNextOneWhole() {
        OutboundFrame first = A6Encoder.requestBodyQuestion();
        int size = first.payload().remaining();
        first.payload().position(first.payload().limit()); // a caller that reads its frame to the end
        assertThat(A6Encoder.requestBodyQuestion().payload().remaining()).isEqualTo(size);
    }

    @Property(tries = 200)
    void aVarQuestionNamesItsVar(@ForAll @StringLength(min = 1, max = 300) @AlphaChars @NumericChars @Chars({'_', '-'}) String name) {
        Req q = onTheWire(A6Encoder.varQuestion(name));
        assertThat(q.infoType()).isEqualTo(Info.Var);
        Var v = (Var) q.info(new Var());
        assertThat(v.name()).isEqualTo(name);
    }
}
