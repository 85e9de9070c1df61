package dev.crossfade.example.boot;

import dev.crossfade.api.Backend;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.stereotype.Component;

/** The receipts sent; a real shop hands them to its mail service. */
@Component
public class Outbox {
    /** One sent receipt, with the job that sent it and the backend that delivered the job. */
    public record Receipt(String orderId, String email, String jid, Backend backend) {}

    private final List<Receipt> sent = new CopyOnWriteArrayList<>();

    void send(Receipt receipt) {
        sent.add(receipt);
    }

    public List<Receipt> sent() {
        return List.copyOf(sent);
    }
}
